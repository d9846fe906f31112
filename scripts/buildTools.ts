// What the build needs from src/core, bundled for Node by scripts/build.mjs.
export { buildProbeModel } from '../src/core/onnx/probeModel';
export { manifestJsonSchema } from '../src/core/manifest';
export { stageBundledModels } from '../src/analysis/bundledModels';
