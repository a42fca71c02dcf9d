// What decorated members leave behind: their metric definitions, as reflect-metadata and in a
// list per class that decoratedMetrics() reads, and the original method's identity (name,
// length, metadata of other decorators) carried over to its wrapper.

import * as NoConflict from 'reflect-metadata/no-conflict';
import type { DecoratorKind } from './options';

/**
 * The reflect-metadata key under which, with TypeScript's experimentalDecorators, each
 * decorated member's definition is recorded:
 * `Reflect.getMetadata(METRIC_METADATA_KEY, Shop.prototype, 'checkout')`.
 */
export const METRIC_METADATA_KEY = 'pcp-agent:metric';

/** A class, as decorators see it. */
export type ClassLike = abstract new (...args: never) => unknown;

/** Any function. */
export type AnyFunction = (...args: never) => unknown;

/** One decorated member's metrics, as decoratedMetrics() lists them. */
export interface DecoratedMetric {
  /** Which decorator: 'counter', 'timer', 'histogram' or 'gauge'. */
  readonly kind: DecoratorKind;
  /** The class that declares the member. */
  readonly className: string;
  /** The member as written: `checkout`, `#secret`, `[id]` for a symbol. */
  readonly member: string;
  readonly static: boolean;
  /** The metric name in the file: PCP shows `mmv.<app>.<name>…`. */
  readonly name: string;
  /** Every PCP metric it publishes, as named in the file (`<name>.count`, …). */
  readonly metrics: readonly string[];
  /** Whether each call picks a PCP instance (the `instance` option). */
  readonly perInstance: boolean;
  readonly help: string | undefined;
}

type MetadataApi = Pick<
  typeof NoConflict,
  'defineMetadata' | 'getOwnMetadata' | 'getOwnMetadataKeys'
>;

/**
 * reflect-metadata as this library reaches it (without touching the global Reflect), and the
 * global one when the app loaded it: an older global copy (0.1.x) keeps metadata apart from
 * the shared registry newer copies use, so both are read and written.
 */
function metadataApis(): MetadataApi[] {
  const apis: MetadataApi[] = [NoConflict];
  const global = Reflect as unknown as Partial<MetadataApi>;
  if (
    typeof global.getOwnMetadataKeys === 'function' &&
    typeof global.getOwnMetadata === 'function' &&
    typeof global.defineMetadata === 'function' &&
    global.getOwnMetadataKeys !== NoConflict.getOwnMetadataKeys
  ) {
    apis.push(global as MetadataApi);
  }
  return apis;
}

/** Records a member's definition as reflect-metadata on (target, key): legacy decorators. */
export function defineMemberMetadata(
  target: object,
  key: string | symbol,
  definition: DecoratedMetric,
): void {
  for (const api of metadataApis())
    api.defineMetadata(METRIC_METADATA_KEY, definition, target, key);
}

const NOT_COPIED = new Set<PropertyKey>(['length', 'name', 'prototype', 'arguments', 'caller']);

/**
 * Makes a wrapper look like the function it wraps: `name`, `length`, `toString()`, its own
 * properties, and every reflect-metadata key other decorators put on it (NestJS keeps a
 * route's path and guards there), so frameworks reading them keep working.
 */
export function copyIdentity(original: AnyFunction, wrapper: AnyFunction): void {
  for (const key of ['name', 'length'] as const) {
    Object.defineProperty(wrapper, key, {
      value: original[key],
      configurable: true,
      enumerable: false,
      writable: false,
    });
  }
  for (const key of Reflect.ownKeys(original)) {
    if (NOT_COPIED.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(original, key);
    if (d) Object.defineProperty(wrapper, key, d);
  }
  if (!Object.hasOwn(original, 'toString')) {
    Object.defineProperty(wrapper, 'toString', {
      value: function originalSource() {
        return Function.prototype.toString.call(original);
      },
      configurable: true,
      enumerable: false,
      writable: true,
    });
  }
  for (const api of metadataApis()) {
    for (const key of api.getOwnMetadataKeys(original)) {
      api.defineMetadata(key, api.getOwnMetadata(key, original), wrapper);
    }
  }
}

/** Definitions per class, in the order the members were bound to it. */
const byClass = new WeakMap<object, DecoratedMetric[]>();

export function addClassMetric(cls: ClassLike, definition: DecoratedMetric): void {
  let list = byClass.get(cls);
  if (list === undefined) {
    list = [];
    byClass.set(cls, list);
  }
  list.push(definition);
}

/** The definitions bound to a class itself (not its superclasses). */
export function ownClassMetrics(cls: ClassLike): readonly DecoratedMetric[] {
  return byClass.get(cls) ?? [];
}
