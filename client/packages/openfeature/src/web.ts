/**
 * `CascadeWebProvider`: an OpenFeature web (client-side, static context) provider that
 * evaluates flags synchronously from a `CascadeClient`'s held effective documents, kept
 * current over its WebSocket. Flag keys are `namespace/path` (see `flags.ts`).
 */
import type { AnyCascadeClient } from '@cascade/client';
import {
  FlagNotFoundError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderNotReadyError,
  StandardResolutionReasons,
  TypeMismatchError,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/web-sdk';
import { caughtUp, changedFlags, flagMetadata, lookupFlag, type FlagType } from './flags.js';

/** Options of {@link CascadeWebProvider}. */
export interface CascadeWebProviderOptions {
  /** Connect the client on `initialize` when it is closed (default true). */
  connect?: boolean;
}

/** OpenFeature web provider over a Cascade client. */
export class CascadeWebProvider implements Provider {
  readonly metadata = { name: 'cascade' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  private offs: Array<() => void> = [];

  constructor(
    readonly client: AnyCascadeClient,
    private readonly options: CascadeWebProviderOptions = {},
  ) {}

  /**
   * Ready at once when the client already holds documents (a bootstrap or cache), else when
   * it has caught up. Change frames become `PROVIDER_CONFIGURATION_CHANGED` (with the flag
   * keys their patch touched), a lost connection `PROVIDER_STALE`, its return `PROVIDER_READY`.
   */
  async initialize(): Promise<void> {
    const client = this.client;
    this.offs.push(
      client.on('change', (event) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changedFlags(event.frame) })),
      client.on('snapshot', () => this.events.emit(ProviderEvents.ConfigurationChanged, {})),
      client.on('state', (state) => {
        if (state === 'reconnecting') this.events.emit(ProviderEvents.Stale, { message: 'the connection is being restored' });
      }),
      client.on('synced', (event) => {
        if (event.resume !== 'none') this.events.emit(ProviderEvents.Ready, {});
      }),
    );
    if (client.state === 'closed' && this.options.connect !== false) client.connect();
    await caughtUp(client);
  }

  /** Stops listening (the client stays as it is: the app owns it). */
  async onClose(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return this.resolve(flagKey, 'boolean', defaultValue);
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return this.resolve(flagKey, 'string', defaultValue);
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return this.resolve(flagKey, 'number', defaultValue);
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return this.resolve(flagKey, 'object', defaultValue);
  }

  private resolve<T>(flagKey: string, type: FlagType, _defaultValue: T): ResolutionDetails<T> {
    const found = lookupFlag(this.client, flagKey, type);
    switch (found.kind) {
      case 'not-ready':
        throw new ProviderNotReadyError(found.message);
      case 'not-found':
        throw new FlagNotFoundError(found.message);
      case 'type-mismatch':
        throw new TypeMismatchError(found.message);
      default:
        return {
          value: found.value as T,
          // The value is the subject's effective config; no rule or context picked it here.
          reason: this.client.state === 'reconnecting' ? StandardResolutionReasons.STALE : StandardResolutionReasons.STATIC,
          flagMetadata: flagMetadata(found, this.client),
        };
    }
  }
}
