// A Jest environment whose typed arrays are Node's own. Jest runs each test file in a vm context
// with its own Float32Array; onnxruntime-node checks `data instanceof Float32Array` against the
// outer realm's and refuses tensors made inside the test ("A float32 tensor's data must be type
// of function Float32Array()"). Every test file runs in it (package.json's jest.testEnvironment): mldb
// itself trains and evaluates on onnxruntime, with arrays it makes inside the test's realm.
/* global require, module */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest loads environments with require.
const { TestEnvironment } = require('jest-environment-node');

const TYPED = [
  'ArrayBuffer',
  'Float32Array',
  'Float64Array',
  'Int8Array',
  'Int16Array',
  'Int32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Uint16Array',
  'Uint32Array',
  'BigInt64Array',
  'BigUint64Array',
];

class TypedArrayRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED) this.global[name] = globalThis[name];
  }
}

module.exports = TypedArrayRealmEnvironment;
