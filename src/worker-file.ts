import fs from 'node:fs';
import path from 'node:path';
import { EXIT, MldbError } from './errors';

/**
 * The compiled file of a worker thread, given the directory of the module that starts it and
 * the worker's file name. Worker threads run JavaScript: from dist/ it sits beside the caller;
 * from the TypeScript sources (the tests) it is the built copy under dist/.
 */
export function workerFile(callerDir: string, name: string): string {
  const beside = path.join(callerDir, name);
  if (fs.existsSync(beside)) return beside;
  const srcRoot = path.resolve(__dirname);
  const built = path.join(path.resolve(srcRoot, '..', 'dist'), path.relative(srcRoot, callerDir), name);
  if (fs.existsSync(built)) return built;
  throw new MldbError(`worker ${name} is not built`, EXIT.INTERNAL, 'run `npm run build`');
}
