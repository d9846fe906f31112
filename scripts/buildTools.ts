// What the build needs from src/core, bundled for Node by scripts/build.mjs.
export { buildProbeModel } from '../src/core/onnx/probeModel';
export { STATS_FILES, statsGraph } from '../src/core/onnx/statsModel';
export { manifestJsonSchema } from '../src/core/manifest';
export { stageBundledModels } from '../src/analysis/bundledModels';
