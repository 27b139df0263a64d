// Worker-thread entry of the collator's pool (collate-pool.ts): runs media jobs and hands the buffers back.
import { parentPort } from 'node:worker_threads';
import { runMediaJob, transferables, type MediaJob } from './collate-media.js';

if (!parentPort) throw new Error('collate-worker.js runs as a worker thread (collate-pool.ts starts it)');
const port = parentPort;
port.on('message', (msg: { id: number; job: MediaJob }) => {
  runMediaJob(msg.job).then(
    (result) => port.postMessage({ id: msg.id, result }, transferables(result)),
    (e: unknown) => port.postMessage({ id: msg.id, error: { name: (e as Error)?.name ?? 'Error', message: (e as Error)?.message ?? String(e) } }),
  );
});
