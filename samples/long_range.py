"""Facts stated once and used far below: hover a token near the end and watch what it reaches back for.

Note that the locker code of Mira Okafor is 4817.
For Tomas Lindqvist, the badge number is 55203.
The home town of Ines Varga is Port Ellery.

Attention Inspector tints every earlier token by the weight the hovered token gives it. The bundled twins
were trained on code, prose and documents like this one, where an answer was stated once, far above.
"""
import math

RETRY_LIMIT = 7


class PacketCursor:
    def __init__(self, stream):
        self.stream = stream


def drain_queue(stream, limit=RETRY_LIMIT):
    return PacketCursor(stream)


def attend(query, keys, values):
    scores = [sum(q * k for q, k in zip(query, key)) / math.sqrt(len(query)) for key in keys]
    top = max(scores)
    weights = [math.exp(s - top) for s in scores]
    return [sum(w * v[i] for w, v in zip(weights, values)) / sum(weights) for i in range(len(values[0]))]


def main(stream):
    result = drain_queue(stream, limit=RETRY_LIMIT)
    if isinstance(result, PacketCursor):
        return result.stream


"""
Question: What is the locker code of Mira Okafor?
Answer: 4817
What is the badge number of Tomas Lindqvist? It is 55203.
Q: What is Ines Varga's home town?
A: Port Ellery
"""
