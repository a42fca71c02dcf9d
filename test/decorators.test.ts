// The decorators in-process, applied as TypeScript's output applies them (the legacy call
// `(target, key, descriptor)`, and the standard `(value, context)` for the shapes that differ):
// what they count, that the method behaves exactly as before, and what they refuse.
// test/decorators-compiled.test.ts runs the same through `tsc` in both modes with real PCP.

// biome-ignore-all lint/complexity/noStaticOnlyClass: classes with static members are what these tests decorate.
// biome-ignore-all lint/complexity/noThisInStatic: `this` in a static method is what one test checks.

import 'reflect-metadata';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import * as util from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { requestContext, shareRequestContext } from '../agent/context';
import type { RequestState } from '../agent/types';
import { requestContextSlot } from '../src/decorators/request-context';
import {
  Counter,
  decoratedMetrics,
  Gauge,
  Histogram,
  METRIC_METADATA_KEY,
  type MetricDecorator,
  PcpAgentError,
  Registry,
  readMmvFile,
  Timer,
} from '../src/index';

let dir: string;
let registry: Registry;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pcp-agent-decorators-'));
  registry = new Registry({ name: 'deco', dir, flushInterval: 0, removeOnExit: false });
  registry.start();
});

afterEach(() => {
  vi.restoreAllMocks();
  requestContextSlot().context = undefined;
  registry.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Legacy = (target: object, key: string | symbol, d?: PropertyDescriptor) => unknown;

/** A member decorator applied as TypeScript's `__decorate` applies it. */
function decorate(decorator: MetricDecorator, target: object, key: string | symbol): void {
  const d = Object.getOwnPropertyDescriptor(target, key);
  const result = (decorator as Legacy)(target, key, d) as PropertyDescriptor | undefined;
  if (result) Object.defineProperty(target, key, result);
}

/** What the file holds: metric → instance ('' for a singleton) → value as a number. */
function values(): Map<string, Map<string, number>> {
  registry.flush();
  const out = new Map<string, Map<string, number>>();
  for (const v of readMmvFile(registry.path).values) {
    if (!out.has(v.metric)) out.set(v.metric, new Map());
    out.get(v.metric)?.set(v.instance ?? '', Number(v.value));
  }
  return out;
}

function value(metric: string, instance = ''): number | undefined {
  return values().get(metric)?.get(instance);
}

/** A clock the test moves: performance.now() returns it. */
function scriptedClock(): { now: number } {
  const clock = { now: 1000 };
  vi.spyOn(performance, 'now').mockImplementation(() => clock.now);
  return clock;
}

class Declined extends Error {}

describe('@Counter', () => {
  it('counts completed calls and, separately, those that threw', () => {
    class Cart {
      add(ok: boolean): number {
        if (!ok) throw new Declined('no');
        return 1;
      }
    }
    decorate(Counter({ registry }), Cart.prototype, 'add');
    const cart = new Cart();
    for (let k = 0; k < 5; k++) cart.add(true);
    for (let k = 0; k < 2; k++) expect(() => cart.add(false)).toThrow(Declined);
    expect(value('methods.Cart.add.count')).toBe(7);
    expect(value('methods.Cart.add.errors')).toBe(2);
  });

  it('registers its metrics when the class is defined: zeros before the first call', () => {
    class Idle {
      never(): void {}
    }
    decorate(Counter({ registry }), Idle.prototype, 'never');
    expect(value('methods.Idle.never.count')).toBe(0);
    expect(value('methods.Idle.never.errors')).toBe(0);
  });

  it('passes this, the arguments and the return value through', () => {
    class Adder {
      base = 10;
      add(...xs: number[]): { self: unknown; args: number[]; sum: number } {
        return { self: this, args: xs, sum: xs.reduce((a, b) => a + b, this.base) };
      }
    }
    decorate(Counter({ registry }), Adder.prototype, 'add');
    const a = new Adder();
    const r = a.add(1, 2, 3);
    expect(r.self).toBe(a);
    expect(r.args).toEqual([1, 2, 3]);
    expect(r.sum).toBe(16);
    expect(a.add.call({ base: 0 }, 4).sum).toBe(4);
  });

  it('rethrows the very error object the method threw', () => {
    const thrown = new Declined('declined');
    class Pay {
      pay(): void {
        throw thrown;
      }
    }
    decorate(Counter({ registry }), Pay.prototype, 'pay');
    let caught: unknown;
    try {
      new Pay().pay();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(thrown);
    // A thrown non-Error too.
    class Odd {
      odd(): void {
        throw 42;
      }
    }
    decorate(Counter({ registry }), Odd.prototype, 'odd');
    expect(() => new Odd().odd()).toThrow(expect.anything());
    try {
      new Odd().odd();
    } catch (err) {
      expect(err).toBe(42);
    }
  });

  it('keeps the name, length and source of the method', () => {
    class Shape {
      area(w: number, h: number): number {
        return w * h;
      }
    }
    const source = Shape.prototype.area.toString();
    decorate(Counter({ registry }), Shape.prototype, 'area');
    expect(Shape.prototype.area.name).toBe('area');
    expect(Shape.prototype.area.length).toBe(2);
    expect(Shape.prototype.area.toString()).toBe(source);
  });

  it('counts a returned promise when it settles: resolved, or rejected as an error', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    class Api {
      get(ok: boolean): Promise<string> {
        return gate.then(() => (ok ? 'fine' : Promise.reject(new Declined('rejected'))));
      }
    }
    decorate(Counter({ registry }), Api.prototype, 'get');
    const api = new Api();
    const calls = [api.get(true), api.get(true), api.get(false)];
    expect(value('methods.Api.get.count')).toBe(0); // not settled yet
    release();
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((settled[0] as PromiseFulfilledResult<string>).value).toBe('fine');
    expect((settled[2] as PromiseRejectedResult).reason).toBeInstanceOf(Declined);
    expect(value('methods.Api.get.count')).toBe(3);
    expect(value('methods.Api.get.errors')).toBe(1);
  });

  it('rejects with the same error object, and keeps own properties of the promise', async () => {
    const reason = new Declined('same');
    class Client {
      fetch(): Promise<never> & { json?: () => string } {
        const p: Promise<never> & { json?: () => string } = Promise.reject(reason);
        p.json = () => 'body';
        return p;
      }
    }
    decorate(Counter({ registry }), Client.prototype, 'fetch');
    const p = new Client().fetch();
    expect(p.json?.()).toBe('body');
    await expect(p).rejects.toBe(reason);
  });

  it('keeps an async method an async function', async () => {
    class Later {
      async twice(x: number): Promise<number> {
        return x * 2;
      }
    }
    decorate(Counter({ registry }), Later.prototype, 'twice');
    expect(util.types.isAsyncFunction(Later.prototype.twice)).toBe(true);
    expect(await new Later().twice(4)).toBe(8);
    await expect(
      Later.prototype.twice.call(
        null,
        // a bad `this` fails inside the original, as without the decorator
        Number.NaN,
      ),
    ).resolves.toBeNaN();
    expect(value('methods.Later.twice.count')).toBe(2);
  });

  it('counts one run of a generator when it is done, closed or throws', () => {
    class Seq {
      *upTo(n: number, failAt = -1): Generator<number, string> {
        for (let i = 0; i < n; i++) {
          if (i === failAt) throw new Declined('at');
          yield i;
        }
        return 'end';
      }
    }
    decorate(Counter({ registry }), Seq.prototype, 'upTo');
    const s = new Seq();
    expect([...s.upTo(3)]).toEqual([0, 1, 2]);
    const g = s.upTo(2);
    expect(g.next()).toEqual({ value: 0, done: false });
    expect(g.next()).toEqual({ value: 1, done: false });
    expect(g.next()).toEqual({ value: 'end', done: true });
    for (const x of s.upTo(10)) if (x === 1) break; // closed by return()
    expect(() => [...s.upTo(5, 2)]).toThrow(Declined);
    const idle = s.upTo(3); // never run: not counted
    expect(idle).toBeDefined();
    expect(value('methods.Seq.upTo.count')).toBe(4);
    expect(value('methods.Seq.upTo.errors')).toBe(1);
  });

  it('counts one run of an async generator when it is done, closed or rejects', async () => {
    class Feed {
      async *items(n: number, failAt = -1): AsyncGenerator<number> {
        for (let i = 0; i < n; i++) {
          await null;
          if (i === failAt) throw new Declined('feed');
          yield i;
        }
      }
    }
    decorate(Counter({ registry }), Feed.prototype, 'items');
    const f = new Feed();
    const got: number[] = [];
    for await (const x of f.items(3)) got.push(x);
    expect(got).toEqual([0, 1, 2]);
    for await (const x of f.items(10)) if (x === 1) break;
    await expect(
      (async () => {
        for await (const _ of f.items(5, 1));
      })(),
    ).rejects.toBeInstanceOf(Declined);
    expect(Object.prototype.toString.call(f.items(1))).toBe('[object AsyncGenerator]');
    expect(value('methods.Feed.items.count')).toBe(3);
    expect(value('methods.Feed.items.errors')).toBe(1);
  });

  it('counts static methods, with this being the class it is called on', () => {
    class Base {
      static create(): unknown {
        return this;
      }
    }
    class Derived extends Base {}
    decorate(Counter({ registry }), Base, 'create');
    expect(Base.create()).toBe(Base);
    expect(Derived.create()).toBe(Derived);
    expect(value('methods.Base.create.count')).toBe(2);
  });
});

describe('@Timer and @Histogram', () => {
  it('@Timer: count, total time in its unit, and errors', () => {
    const clock = scriptedClock();
    class Work {
      run(ms: number): void {
        clock.now += ms;
        if (ms > 100) throw new Declined('too slow');
      }
    }
    decorate(Timer({ registry, unit: 'usec' }), Work.prototype, 'run');
    const w = new Work();
    w.run(2);
    w.run(3);
    expect(() => w.run(500)).toThrow(Declined);
    expect(value('methods.Work.run.count')).toBe(3);
    expect(value('methods.Work.run.time')).toBe(505_000);
    expect(value('methods.Work.run.errors')).toBe(1);
  });

  it('@Timer: a promise is timed until it settles', async () => {
    const clock = scriptedClock();
    class Slow {
      async wait(ms: number): Promise<string> {
        await null;
        clock.now += ms;
        return 'done';
      }
      reject(ms: number): Promise<never> {
        return Promise.resolve().then(() => {
          clock.now += ms;
          throw new Declined('late');
        });
      }
    }
    decorate(Timer({ registry }), Slow.prototype, 'wait');
    decorate(Timer({ registry }), Slow.prototype, 'reject');
    const s = new Slow();
    expect(await s.wait(7)).toBe('done');
    await expect(s.reject(11)).rejects.toBeInstanceOf(Declined);
    expect(value('methods.Slow.wait.count')).toBe(1);
    expect(value('methods.Slow.wait.time')).toBe(7);
    expect(value('methods.Slow.reject.time')).toBe(11);
    expect(value('methods.Slow.reject.errors')).toBe(1);
  });

  it('@Timer on a generator times its steps, not the time between them', () => {
    const clock = scriptedClock();
    class Steps {
      *three(): Generator<number> {
        for (let i = 0; i < 3; i++) {
          clock.now += 2;
          yield i;
        }
      }
    }
    decorate(Timer({ registry }), Steps.prototype, 'three');
    for (const _ of new Steps().three()) clock.now += 1000; // the caller's time
    expect(value('methods.Steps.three.count')).toBe(1);
    expect(value('methods.Steps.three.time')).toBe(6);
  });

  it('@Histogram: count, sum and buckets of durations', () => {
    const clock = scriptedClock();
    class Quote {
      price(ms: number): number {
        clock.now += ms;
        return 1;
      }
    }
    decorate(Histogram({ registry, buckets: [5, 50] }), Quote.prototype, 'price');
    const q = new Quote();
    for (const ms of [1, 4, 20, 80]) q.price(ms);
    expect(value('methods.Quote.price.count')).toBe(4);
    expect(value('methods.Quote.price.sum')).toBe(105);
    expect(value('methods.Quote.price.bucket.le_5')).toBe(2);
    expect(value('methods.Quote.price.bucket.le_50')).toBe(3);
    expect(value('methods.Quote.price.bucket.le_inf')).toBe(4);
    expect(value('methods.Quote.price.errors')).toBe(0);
  });
});

describe('an instance chosen per call', () => {
  it('counts each call under the instance its arguments name', () => {
    class Shipping {
      ship(region: string): string {
        return region;
      }
    }
    decorate(
      Counter({ registry, instance: (region) => String(region), instances: ['eu', 'us'] }),
      Shipping.prototype,
      'ship',
    );
    expect(values().get('methods.Shipping.ship.count')).toEqual(
      new Map([
        ['eu', 0],
        ['us', 0],
      ]),
    );
    const s = new Shipping();
    for (const r of ['eu', 'eu', 'us', 'asia', 'eu']) s.ship(r);
    expect(values().get('methods.Shipping.ship.count')).toEqual(
      new Map([
        ['eu', 3],
        ['us', 1],
        ['asia', 1],
      ]),
    );
  });

  it('gives the instance function the call’s this', () => {
    class Tenant {
      constructor(readonly id: string) {}
      work(): void {}
    }
    decorate(
      Counter({
        registry,
        instance(this: unknown) {
          return (this as Tenant).id;
        },
      }),
      Tenant.prototype,
      'work',
    );
    new Tenant('acme').work();
    new Tenant('acme').work();
    new Tenant('initech').work();
    expect(values().get('methods.Tenant.work.count')).toEqual(
      new Map([
        ['acme', 2],
        ['initech', 1],
      ]),
    );
  });

  it('counts a call whose instance is unusable under _invalid, and still runs it', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    class Odd {
      go(x: unknown): unknown {
        return x;
      }
    }
    decorate(
      Counter({
        registry,
        instance: (x) => {
          if (x === 'boom') throw new Error('instance fn failed');
          return x as string;
        },
      }),
      Odd.prototype,
      'go',
    );
    const o = new Odd();
    expect(o.go(7)).toBe(7); // not a string
    expect(o.go('boom')).toBe('boom'); // the instance function threw
    expect(o.go(' leading space')).toBe(' leading space'); // PCP refuses the name
    expect(o.go('ok')).toBe('ok');
    expect(values().get('methods.Odd.go.count')).toEqual(
      new Map([
        ['_invalid', 3],
        ['ok', 1],
      ]),
    );
    expect(value('pcp_agent.errors')).toBeGreaterThan(0);
    expect(warn).toHaveBeenCalled();
  });
});

describe('@Gauge', () => {
  it('reads a static getter or property at each flush', () => {
    class Pool {
      static free = 3;
      static get busy(): number {
        return 10 - Pool.free;
      }
    }
    decorate(Gauge({ registry }), Pool, 'free');
    decorate(Gauge({ registry, help: 'Busy connections' }), Pool, 'busy');
    expect(value('methods.Pool.free')).toBe(3);
    expect(value('methods.Pool.busy')).toBe(7);
    Pool.free = 1;
    expect(value('methods.Pool.free')).toBe(1);
    expect(value('methods.Pool.busy')).toBe(9);
  });

  it('takes booleans as 1 and 0, and anything not a number as 0', () => {
    class Flags {
      static up: unknown = true;
    }
    decorate(Gauge({ registry }), Flags, 'up');
    expect(value('methods.Flags.up')).toBe(1);
    Flags.up = 'yes';
    expect(value('methods.Flags.up')).toBe(0);
    Flags.up = 12n;
    expect(value('methods.Flags.up')).toBe(12);
  });

  it('counts a getter that throws in pcp_agent.errors and never stops the flush', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    class Broken {
      static get level(): number {
        throw new Error('sensor');
      }
    }
    decorate(Gauge({ registry }), Broken, 'level');
    expect(value('methods.Broken.level')).toBe(0);
    expect(value('pcp_agent.errors')).toBeGreaterThan(0);
  });

  it('on an instance member with standard decorators: the sum over live objects', () => {
    const initializers: ((this: unknown) => void)[] = [];
    class Queue {
      size = 0;
      constructor(size: number) {
        for (const f of initializers) f.call(this);
        this.size = size;
      }
    }
    const context = {
      kind: 'field',
      name: 'size',
      static: false,
      private: false,
      access: { get: (o: Queue) => o.size },
      addInitializer: (f: (this: unknown) => void) => initializers.push(f),
      metadata: undefined,
    };
    (Gauge({ registry }) as (v: unknown, c: unknown) => void)(undefined, context);
    const a = new Queue(2);
    const b = new Queue(5);
    expect(value('methods.Queue.size')).toBe(7);
    b.size = 1;
    expect(value('methods.Queue.size')).toBe(3);
    expect(a).toBeDefined();
  });

  it('with instance: each object’s value under the instance it names, summed per name', () => {
    const initializers: ((this: unknown) => void)[] = [];
    class Conn {
      constructor(
        readonly region: string,
        readonly open: number,
      ) {
        for (const f of initializers) f.call(this);
      }
    }
    const context = {
      kind: 'getter',
      name: 'open',
      static: false,
      private: false,
      access: { get: (o: Conn) => o.open },
      addInitializer: (f: (this: unknown) => void) => initializers.push(f),
      metadata: undefined,
    };
    const gauge = Gauge({ registry, instance: (c) => (c as Conn).region, instances: ['eu'] });
    (gauge as (v: unknown, c: unknown) => void)(() => 0, context);
    const conns = [new Conn('eu', 2), new Conn('eu', 3), new Conn('us', 4)];
    expect(values().get('methods.Conn.open')).toEqual(
      new Map([
        ['eu', 5],
        ['us', 4],
      ]),
    );
    expect(conns).toHaveLength(3);
  });
});

describe('on a class', () => {
  it('decorates every method the class declares, static ones too, but not accessors', () => {
    class Ledger {
      entries: string[] = [];
      record(e: string): number {
        return this.entries.push(e);
      }
      clear(): void {
        this.entries = [];
      }
      get size(): number {
        return this.entries.length;
      }
      static open(): Ledger {
        return new Ledger();
      }
    }
    (Counter({ registry }) as (c: unknown) => void)(Ledger);
    const l = Ledger.open();
    l.record('a');
    l.record('b');
    l.clear();
    expect(l.size).toBe(0);
    const v = values();
    expect(v.get('methods.Ledger.record.count')?.get('')).toBe(2);
    expect(v.get('methods.Ledger.clear.count')?.get('')).toBe(1);
    expect(v.get('methods.Ledger.open.count')?.get('')).toBe(1);
    expect(v.has('methods.Ledger.size.count')).toBe(false);
    expect(v.has('methods.Ledger.constructor.count')).toBe(false);
  });

  it('leaves a method decorated on its own to its own decorator; name is the prefix', () => {
    class Api {
      list(): void {}
      get(): void {}
    }
    decorate(Timer({ registry, name: 'api.fetch' }), Api.prototype, 'get');
    (Counter({ registry, name: 'api' }) as (c: unknown) => void)(Api);
    new Api().list();
    new Api().get();
    const v = values();
    expect(v.get('api.list.count')?.get('')).toBe(1);
    expect(v.get('api.fetch.count')?.get('')).toBe(1);
    expect(v.has('api.get.count')).toBe(false);
  });
});

describe('names', () => {
  it('defaults to methods.<Class>.<member>, made valid for pmdammv', () => {
    const key = Symbol('lookup');
    class Odd_$Class {
      $get(): void {}
      [key](): void {}
    }
    decorate(Counter({ registry }), Odd_$Class.prototype, '$get');
    decorate(Counter({ registry }), Odd_$Class.prototype, key);
    const anonymous = (() => class {})();
    Object.defineProperty(anonymous.prototype, 'run', {
      value() {},
      writable: true,
      configurable: true,
    });
    decorate(Counter({ registry }), anonymous.prototype, 'run');
    expect(decoratedMetrics(Odd_$Class).map((d) => d.name)).toEqual([
      'methods.Odd__Class.get', // `$` became `_`
      'methods.Odd__Class.lookup',
    ]);
    expect(decoratedMetrics(anonymous).map((d) => d.name)).toEqual(['methods.anonymous.run']);
  });

  it('takes a name, help, units and labels', () => {
    class Mail {
      send(): void {}
    }
    decorate(
      Timer({
        registry,
        name: 'mail.send',
        help: 'Mails sent',
        unit: 'sec',
        labels: { team: 'ops' },
      }),
      Mail.prototype,
      'send',
    );
    registry.flush();
    const file = readMmvFile(registry.path);
    const time = file.metrics.find((m) => m.name === 'mail.send.time');
    expect(time?.shortHelp).toBe('Mails sent (time)');
    expect(time?.units.scaleTime).toBe(3);
    expect(file.labels.some((l) => l.payload.includes('"team":"ops"'))).toBe(true);
  });
});

describe('bad options are errors when the class is defined', () => {
  class Target {
    method(): void {}
    static prop = 1;
  }

  function codeOf(fn: () => unknown): { code: string; message: string } {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(PcpAgentError);
      return { code: (err as PcpAgentError).code, message: (err as Error).message };
    }
    throw new Error('no error');
  }

  it.each([
    [
      'a name pmdammv would drop',
      () => Timer({ name: 'bad-name' }),
      'PCP_AGENT_ERR_NAME',
      /bad-name.*letter/,
    ],
    [
      'a name part starting with a digit',
      () => Counter({ name: 'a.1b' }),
      'PCP_AGENT_ERR_NAME',
      /"1b"/,
    ],
    [
      'help over 255 bytes',
      () => Timer({ help: 'é'.repeat(130) }),
      'PCP_AGENT_ERR_STRING_TOO_LONG',
      /260 bytes/,
    ],
    [
      'an unknown option',
      () => Timer({ units: 'msec' } as never),
      'PCP_AGENT_ERR_OPTION',
      /unknown option "units"/,
    ],
    ['a bad unit', () => Timer({ unit: 'fortnight' as never }), 'PCP_AGENT_ERR_UNITS', /fortnight/],
    [
      'buckets not ascending',
      () => Histogram({ buckets: [5, 1] }),
      'PCP_AGENT_ERR_OPTION',
      /ascending/,
    ],
    ['a bad label', () => Counter({ labels: { 'bad-key': 1 } }), 'PCP_AGENT_ERR_LABEL', /bad-key/],
    [
      'instances without instance',
      () => Counter({ instances: ['a'] }),
      'PCP_AGENT_ERR_OPTION',
      /instance option/,
    ],
    [
      'an invalid instance',
      () => Counter({ instance: () => 'x', instances: [' x'] }),
      'PCP_AGENT_ERR_INSTANCE',
      /white space/,
    ],
  ])('%s', (_what, make, code, message) => {
    const e = codeOf(make);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/^PCP_AGENT_ERR_\w+: @(Counter|Timer|Histogram)/);
  });

  it('a decorator written without parentheses', () => {
    const e = codeOf(() => decorate(Counter as never, Target.prototype, 'method'));
    expect(e.message).toMatch(/write @Counter\(\), not @Counter/);
  });

  it('@Gauge on a method, @Timer on a property', () => {
    expect(codeOf(() => decorate(Gauge({ registry }), Target.prototype, 'method')).message).toMatch(
      /@Gauge on Target.method goes on a property/,
    );
    expect(codeOf(() => decorate(Timer({ registry }), Target, 'prop')).message).toMatch(
      /@Timer on Target.static prop goes on a method or a class/,
    );
  });

  it('@Gauge on an instance member with experimentalDecorators', () => {
    expect(codeOf(() => decorate(Gauge({ registry }), Target.prototype, 'field')).message).toMatch(
      /needs standard decorators/,
    );
  });

  it('two decorators counting one method under one name', () => {
    class Twice {
      run(): void {}
    }
    decorate(Counter({ registry }), Twice.prototype, 'run');
    const e = codeOf(() => decorate(Timer({ registry }), Twice.prototype, 'run'));
    expect(e.code).toBe('PCP_AGENT_ERR_DUPLICATE');
    expect(e.message).toMatch(/@Timer on Twice.run: the method already has @Counter/);
    // With names of their own they may be stacked.
    class Both {
      run(): void {}
    }
    decorate(Counter({ registry }), Both.prototype, 'run');
    decorate(Histogram({ registry, name: 'both.latency' }), Both.prototype, 'run');
    new Both().run();
    expect(value('methods.Both.run.count')).toBe(1);
    expect(value('both.latency.count')).toBe(1);
  });

  it('two members claiming one name', () => {
    class A {
      x(): void {}
      y(): void {}
    }
    decorate(Counter({ registry, name: 'same' }), A.prototype, 'x');
    const e = codeOf(() => decorate(Counter({ registry, name: 'same' }), A.prototype, 'y'));
    expect(e.code).toBe('PCP_AGENT_ERR_DUPLICATE');
    expect(e.message).toMatch(/"same" is already used by @Counter on A.x/);
  });

  it('the same class defined again shares its metrics', () => {
    const define = () => {
      class Factory {
        make(): void {}
      }
      decorate(Counter({ registry }), Factory.prototype, 'make');
      return Factory;
    };
    const F1 = define();
    const F2 = define();
    expect(F1).not.toBe(F2);
    new F1().make();
    new F2().make();
    expect(value('methods.Factory.make.count')).toBe(2);
  });
});

describe('metadata', () => {
  it('records each member’s definition under pcp-agent:metric', () => {
    class Shop {
      buy(): void {}
    }
    decorate(Timer({ registry, help: 'Purchases' }), Shop.prototype, 'buy');
    const d = Reflect.getMetadata(METRIC_METADATA_KEY, Shop.prototype, 'buy');
    expect(d).toMatchObject({
      kind: 'timer',
      className: 'Shop',
      member: 'buy',
      name: 'methods.Shop.buy',
      metrics: ['methods.Shop.buy.count', 'methods.Shop.buy.time', 'methods.Shop.buy.errors'],
      help: 'Purchases',
    });
    expect(decoratedMetrics(Shop)).toEqual([d]);
  });

  it('copies every other metadata key and own property of the method to the wrapper', () => {
    class Ctl {
      find(): string {
        return 'found';
      }
    }
    // What NestJS's @Get and @UseGuards do: metadata on the method function itself.
    Reflect.defineMetadata('path', 'orders', Ctl.prototype.find);
    Reflect.defineMetadata('__guards__', ['AuthGuard'], Ctl.prototype.find);
    Reflect.defineMetadata('design:returntype', String, Ctl.prototype, 'find');
    Object.assign(Ctl.prototype.find, { marker: true });
    decorate(Counter({ registry }), Ctl.prototype, 'find');
    expect(Reflect.getMetadata('path', Ctl.prototype.find)).toBe('orders');
    expect(Reflect.getMetadata('__guards__', Ctl.prototype.find)).toEqual(['AuthGuard']);
    expect(Reflect.getMetadata('design:returntype', Ctl.prototype, 'find')).toBe(String);
    expect((Ctl.prototype.find as unknown as { marker: boolean }).marker).toBe(true);
    // A decorator applied after ours puts its metadata on the wrapper, which is what is called.
    Reflect.defineMetadata('later', 1, Ctl.prototype.find);
    expect(new Ctl().find()).toBe('found');
    expect(value('methods.Ctl.find.count')).toBe(1);
  });
});

describe('subclasses', () => {
  it('a subclass overriding a decorated method is counted under its own name', () => {
    class Base {
      work(): string {
        return 'base';
      }
    }
    class Sub extends Base {
      override work(): string {
        return `sub+${super.work()}`;
      }
    }
    class Plain extends Base {
      override work(): string {
        return 'plain';
      }
    }
    decorate(Counter({ registry }), Base.prototype, 'work');
    decorate(Counter({ registry }), Sub.prototype, 'work');
    expect(new Sub().work()).toBe('sub+base');
    expect(new Sub().work()).toBe('sub+base');
    expect(new Plain().work()).toBe('plain');
    expect(new Base().work()).toBe('base');
    expect(value('methods.Sub.work.count')).toBe(2);
    expect(value('methods.Base.work.count')).toBe(3); // twice through super, once directly
    expect(decoratedMetrics(Sub).map((d) => d.name)).toEqual(['methods.Sub.work']);
    expect(decoratedMetrics(Plain)).toEqual([]); // overridden by an undecorated method
    class Inherits extends Base {}
    expect(decoratedMetrics(Inherits).map((d) => d.name)).toEqual(['methods.Base.work']);
  });
});

describe('standard decorators, as called by TypeScript 5+ without experimentalDecorators', () => {
  /** A method decorated the way TypeScript's __esDecorate does, initializers kept for the caller. */
  function standardMethod(
    decorator: MetricDecorator,
    target: object,
    key: string,
    isStatic: boolean,
  ): ((self: unknown) => void)[] {
    const inits: ((this: unknown) => void)[] = [];
    const d = Object.getOwnPropertyDescriptor(target, key) as PropertyDescriptor;
    const result = (decorator as (v: unknown, c: unknown) => unknown)(d.value, {
      kind: 'method',
      name: key,
      static: isStatic,
      private: false,
      access: { has: (o: object) => key in o, get: (o: Record<string, unknown>) => o[key] },
      addInitializer: (f: (this: unknown) => void) => inits.push(f),
      metadata: undefined,
    });
    if (typeof result === 'function') Object.defineProperty(target, key, { ...d, value: result });
    return inits.map((f) => (self: unknown) => f.call(self));
  }

  it('a static method is registered when its class is defined', () => {
    class Jobs {
      static run(): string {
        return 'ran';
      }
    }
    for (const init of standardMethod(Timer({ registry }), Jobs, 'run', true)) init(Jobs);
    expect(value('methods.Jobs.run.count')).toBe(0);
    expect(Jobs.run()).toBe('ran');
    expect(value('methods.Jobs.run.count')).toBe(1);
  });

  it('an instance method is registered by its first object, under the class declaring it', () => {
    const inits: ((self: unknown) => void)[] = [];
    class Worker {
      constructor() {
        for (const init of inits) init(this);
      }
      work(): number {
        return 1;
      }
    }
    class Night extends Worker {}
    inits.push(...standardMethod(Counter({ registry }), Worker.prototype, 'work', false));
    expect(values().has('methods.Worker.work.count')).toBe(false);
    const n = new Night();
    expect(value('methods.Worker.work.count')).toBe(0);
    n.work();
    new Worker().work();
    expect(value('methods.Worker.work.count')).toBe(2);
  });

  it('decoratedMetrics() registers members whose class had no object yet', () => {
    class Later {
      go(): void {}
    }
    standardMethod(Counter({ registry }), Later.prototype, 'go', false);
    expect(decoratedMetrics(Later).map((d) => d.name)).toEqual(['methods.Later.go']);
    expect(value('methods.Later.go.count')).toBe(0);
  });
});

describe('per-request breakdown (the agent’s request context)', () => {
  function fakeRequest(): RequestState {
    const state: RequestState = { timerTime: 0, methodTime: 0, methodDepth: 0, methodStart: 0 };
    requestContextSlot().context = { current: () => state };
    return state;
  }

  it('adds a timed call’s time to the request once, however deeply calls nest', () => {
    const clock = scriptedClock();
    class Orders {
      place(): void {
        clock.now += 1;
        this.price();
        this.price();
        clock.now += 1;
      }
      price(): void {
        clock.now += 3;
        this.tax();
      }
      tax(): void {
        clock.now += 2;
      }
    }
    decorate(Timer({ registry }), Orders.prototype, 'place');
    decorate(Timer({ registry }), Orders.prototype, 'price');
    decorate(Histogram({ registry }), Orders.prototype, 'tax');
    const state = fakeRequest();
    new Orders().place();
    expect(state.methodTime).toBe(12); // place's 12 ms, not 12 + 2×5 + 2×2
    expect(state.methodDepth).toBe(0);
    expect(value('methods.Orders.price.time')).toBe(10);
  });

  it('counts async nested and concurrent calls once, until the last one settles', async () => {
    const clock = scriptedClock();
    class Api {
      async load(ms: number): Promise<void> {
        await null;
        clock.now += ms;
        await this.part();
      }
      async part(): Promise<void> {
        await null;
        clock.now += 1;
      }
    }
    decorate(Timer({ registry }), Api.prototype, 'load');
    decorate(Timer({ registry }), Api.prototype, 'part');
    const state = fakeRequest();
    const api = new Api();
    await Promise.all([api.load(4), api.load(6)]);
    expect(state.methodTime).toBe(12); // from the first start to the last end
    expect(value('methods.Api.load.time')).toBeGreaterThanOrEqual(10);
  });

  it('@Counter adds no time, and nothing is added outside a request', () => {
    scriptedClock();
    class Quiet {
      ping(): void {}
    }
    decorate(Counter({ registry }), Quiet.prototype, 'ping');
    const state = fakeRequest();
    new Quiet().ping();
    expect(state.methodTime).toBe(0);
    requestContextSlot().context = undefined;
    class Timed {
      run(): void {}
    }
    decorate(Timer({ registry }), Timed.prototype, 'run');
    expect(() => new Timed().run()).not.toThrow();
  });

  it('reaches the agent’s own request context through the global symbol', () => {
    const clock = scriptedClock();
    class Svc {
      work(): void {
        clock.now += 5;
      }
    }
    decorate(Timer({ registry }), Svc.prototype, 'work');
    const requests = requestContext(true);
    const unshare = shareRequestContext(requests);
    const state: RequestState = { timerTime: 0, methodTime: 0, methodDepth: 0, methodStart: 0 };
    requests.run(state, () => new Svc().work());
    new Svc().work(); // outside any request
    unshare();
    requests.run(state, () => new Svc().work()); // context no longer shared
    expect(state.methodTime).toBe(5);
  });
});
