#!/usr/bin/env node
// Where the write path's CPU goes: serves the built Worker from workerd (scripts/serve.mjs)
// with V8's inspector open, takes a sampling CPU profile of the Worker's isolate (the Worker
// and its Durable Objects) while a platform admin sends sequential tenant writes, and prints
// the functions with the most self time. With --sockets N, N users of the tenant follow the
// namespace over WebSockets meanwhile, so the profile includes the delivery of each change.
//
// Usage: node scripts/profile.mjs [--writes N] [--top N] [--interval MICROSECONDS] [--out FILE]
//                                 [--inclusive] [--sockets N]
//   --out also writes the raw profile (.cpuprofile, opens in Chrome DevTools);
//   --inclusive ranks functions by total time (with their callees) instead of self time.
// Build first (scripts/build); the Worker's wasm keeps its name section, so Rust functions
// appear by their mangled names, shortened here to their path.
//
// The Chrome DevTools Protocol is spoken over the `ws` package (a dependency of wrangler's):
// a CDP client library would add a dependency for the four commands used here.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = 'cascade-profile-secret-0123456789abcdef';
const TENANT = 't0000';

/** Command-line options (node:util's parser: unknown or valueless options are refused). */
function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      writes: { type: 'string', default: '300' },
      top: { type: 'string', default: '40' },
      interval: { type: 'string', default: '100' },
      out: { type: 'string' },
      inclusive: { type: 'boolean', default: false },
      sockets: { type: 'string', default: '0' },
    },
  });
  return {
    writes: Number(values.writes),
    top: Number(values.top),
    interval: Number(values.interval),
    out: values.out === undefined ? undefined : resolve(values.out),
    inclusive: values.inclusive,
    sockets: Number(values.sockets),
  };
}

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** An HS256 JWT for `role` (as scripts/token mints them). */
function token(role, tenant, sub) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub, role, iat: now, exp: now + 3600, ...(tenant ? { tid: tenant } : {}) };
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

/** Starts scripts/serve.mjs; resolves with its URL and the child process. */
async function serve(persist, inspectorPort) {
  const child = spawn(
    process.execPath,
    [join(root, 'scripts/serve.mjs'), '--persist', persist, '--seed-tenants', '1', '--no-assets',
      '--inspector-port', String(inspectorPort), '--var', `JWT_SECRET=${SECRET}`,
      // Sequential writes as fast as they go: above the default write budget.
      '--var', 'WRITE_RATE_PER_SEC=100000', '--var', 'WRITE_BURST=100000'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const line = await new Promise((ok, fail) => {
    child.once('exit', (code) => fail(new Error(`serve.mjs exited (${code}) before serving`)));
    createInterface({ input: child.stdout }).once('line', ok);
  });
  return { child, url: JSON.parse(line).url };
}

/** A CDP session on the inspector target whose title names the Worker. */
async function inspect(port) {
  let targets = [];
  for (let attempt = 0; attempt < 50 && targets.length === 0; attempt++) {
    targets = await fetch(`http://127.0.0.1:${port}/json`).then((r) => r.json()).catch(() => []);
    if (targets.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  const target = targets.find((t) => /cascade/.test(t.title ?? t.id ?? '')) ?? targets[0];
  if (!target) throw new Error(`no inspector target on port ${port}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((ok, fail) => { socket.once('open', ok); socket.once('error', fail); });
  let next = 0;
  const waiting = new Map();
  socket.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    const entry = waiting.get(msg.id);
    if (!entry) return;
    waiting.delete(msg.id);
    if (msg.error) entry.fail(new Error(`${msg.error.message} (${entry.method})`));
    else entry.ok(msg.result);
  });
  const send = (method, params = {}) => new Promise((ok, fail) => {
    const id = ++next;
    waiting.set(id, { ok, fail, method });
    socket.send(JSON.stringify({ id, method, params }));
  });
  return { send, close: () => socket.close(), title: target.title };
}

/** Opens `count` user sockets following the `bench` namespace; resolves once each is synced. */
async function followers(url, count) {
  const sockets = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => new Promise((ok, fail) => {
      const jwt = token('user', TENANT, `user${i + j}`);
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/connect?tenant=${TENANT}&namespaces=bench`, {
        headers: { authorization: `Bearer ${jwt}` },
      });
      ws.on('message', (data) => {
        if (String(data).includes('"type":"synced"')) ok(ws);
      });
      ws.once('error', fail);
    }));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

/** Sends `count` sequential tenant-layer writes; answers their mean wall time (ms). */
async function writes(url, count, from) {
  const auth = { authorization: `Bearer ${token('platform-admin', undefined, 'profiler')}` };
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const resp = await fetch(`${url}/v1/tenants/${TENANT}/config/bench`, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ round: from + i, theme: { color: i % 2 ? 'blue' : 'green' } }),
    });
    if (resp.status !== 200) throw new Error(`write answered ${resp.status}: ${await resp.text()}`);
    await resp.arrayBuffer();
  }
  return (performance.now() - started) / count;
}

/** A readable name for a profile node's function (Rust symbols shortened to their path). */
function label(frame) {
  let name = frame.functionName || '(anonymous)';
  const demangled = /^_ZN(.*)17h[0-9a-f]{16}E$/.exec(name);
  if (demangled) {
    const parts = [];
    let rest = demangled[1];
    while (rest.length > 0) {
      const m = /^(\d+)/.exec(rest);
      if (!m) break;
      const len = Number(m[1]);
      parts.push(rest.slice(m[1].length, m[1].length + len));
      rest = rest.slice(m[1].length + len);
    }
    name = parts.join('::').replace(/\$LT\$/g, '<').replace(/\$GT\$/g, '>').replace(/\$u20\$/g, ' ')
      .replace(/\$RF\$/g, '&').replace(/\$C\$/g, ',').replace(/\.\./g, '::');
  }
  const where = frame.url ? ` ${frame.url.split('/').pop()}` : '';
  return frame.url?.startsWith('wasm://') ? `${name} [wasm]` : `${name}${where}`;
}

/**
 * Time per function, descending: its self time (samples where it runs) or, with `inclusive`,
 * its total time (samples where it is anywhere on the stack, counted once per sample).
 */
function times(profile, inclusive) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  const total = profile.timeDeltas.reduce((a, b) => a + b, 0);
  const perSample = total / Math.max(1, profile.samples.length);
  const byLabel = new Map();
  for (const [id, n] of counts) {
    const labels = new Set();
    for (let at = id; at !== undefined; at = inclusive ? parent.get(at) : undefined) {
      labels.add(label(byId.get(at).callFrame));
    }
    for (const key of labels) byLabel.set(key, (byLabel.get(key) ?? 0) + n * perSample);
  }
  return { total, rows: [...byLabel].sort((a, b) => b[1] - a[1]) };
}

async function main() {
  const opts = options(process.argv.slice(2));
  const persist = mkdtempSync(join(tmpdir(), 'cascade-profile-'));
  const inspectorPort = await freePort();
  const { child, url } = await serve(persist, inspectorPort);
  try {
    const sockets = await followers(url, opts.sockets);
    // Warm up: V8 tiers the code up and the hub wakes before the profile starts.
    await writes(url, 50, 1);
    const cdp = await inspect(inspectorPort);
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: opts.interval });
    await cdp.send('Profiler.start');
    const wall = await writes(url, opts.writes, 1000);
    const { profile } = await cdp.send('Profiler.stop');
    cdp.close();
    if (opts.out) writeFileSync(opts.out, JSON.stringify(profile));
    const { total, rows } = times(profile, opts.inclusive);
    const idle = rows.filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
    const busy = total - idle;
    for (const ws of sockets) ws.terminate();
    console.log(`isolate ${cdp.title}: ${opts.writes} writes to ${opts.sockets} sockets, ${wall.toFixed(2)} ms wall each; ` +
      `busy ${(busy / 1000 / opts.writes).toFixed(2)} ms of CPU per write (sampled every ${opts.interval} µs)`);
    console.log(`| ${opts.inclusive ? 'total' : 'self'} ms/write | share of busy | function |`);
    console.log('|---|---|---|');
    const shown = rows.filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(root)'));
    for (const [name, us] of shown.slice(0, opts.top)) {
      console.log(`| ${(us / 1000 / opts.writes).toFixed(3)} | ${((100 * us) / busy).toFixed(1)}% | ${name.replace(/\|/g, '\\|')} |`);
    }
  } finally {
    child.stdin.end();
    await new Promise((r) => child.once('exit', r));
    rmSync(persist, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`profile.mjs: ${e.stack ?? e}\n`);
  process.exit(1);
});
