import crypto from 'node:crypto';
import multipart from '@fastify/multipart';
import Fastify from 'fastify';
import { v7 as uuidv7 } from 'uuid';
import { resolveConfig } from '../config';
import { insertPredictions } from '../db/predictions';
import { selectBackend } from '../ml/backend';
import { tfjsEngine } from '../ml/inference-engine';
import { classifyInputs, preprocess, ranked } from '../ml/predict';
import { MlDb } from '../mldb';

/**
 * The serve benchmark's baseline, run as its own process: what the original service did per
 * request — read the uploaded file, decode it, predict that one image, INSERT one log row and
 * wait for it, then answer. Same HTTP framework and model as `mldb serve`, so the difference is
 * batching and the asynchronous log. `node dist/bench/serve-baseline.js URL MODEL`.
 */
async function main(): Promise<void> {
  const [url, ref] = process.argv.slice(2);
  await selectBackend('auto');
  const mldb = new MlDb({ config: resolveConfig({ url }, {}, '/') });
  const db = await mldb.connection();
  const saved = await mldb.openModel(ref);
  const engine = tfjsEngine(saved.model); // the original's way: TensorFlow, one image per call
  const app = Fastify({ bodyLimit: 8 * 1024 * 1024 });
  await app.register(multipart);
  app.post('/mnist', async (request) => {
    const started = performance.now();
    const file = await request.file();
    const bytes = await file!.toBuffer();
    const xs = await preprocess(bytes, saved);
    const [probs] = await classifyInputs(engine, [xs], saved.metadata.labels.length);
    const r = ranked(probs, saved.metadata.labels, 3);
    const id = uuidv7();
    await insertPredictions(db, [
      {
        id,
        createdAt: new Date(),
        source: 'form',
        model: 'baseline',
        modelId: null,
        runId: null,
        client: request.ip,
        fileName: file!.filename,
        inputSha256: crypto.createHash('sha256').update(bytes).digest(),
        inputBytes: bytes.length,
        inputFormat: 'jpeg',
        input: null,
        label: r.label,
        confidence: r.confidence,
        top: r.top,
        latencyMs: performance.now() - started,
        status: 'ok',
        error: null,
      },
    ]);
    return { predictions: [{ id, ...r }] };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stderr.write(`listening on ${address}\n`);
  process.once('SIGTERM', () => void app.close().then(() => mldb.close()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
