/**
 * `CascadeServerProvider`: an OpenFeature server provider (dynamic context) over a
 * `CascadeClient` that follows a tenant from the server (an admin or service token): flags
 * resolve from the tenant's effective documents, kept current over the WebSocket. Flag keys
 * are `namespace/path` (see `flags.ts`). The evaluation context does not select a user:
 * per-user values need a client with that user's token (its documents are the user's).
 */
import type { AnyCascadeClient } from '@cascade/client';
import {
  FlagNotFoundError,
  OpenFeatureEventEmitter,
  ProviderEvents,
  StandardResolutionReasons,
  TypeMismatchError,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
} from '@openfeature/server-sdk';
import { caughtUp, changedFlags, flagMetadata, lookupFlag, type FlagType } from './flags.js';

/** OpenFeature server provider over a Cascade client. */
export class CascadeServerProvider implements Provider {
  readonly metadata = { name: 'cascade' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  private offs: Array<() => void> = [];

  constructor(readonly client: AnyCascadeClient) {}

  /** Connects the client when closed and resolves once it holds documents. */
  async initialize(): Promise<void> {
    const client = this.client;
    this.offs.push(
      client.on('change', (event) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: changedFlags(event.frame) })),
      client.on('state', (state) => {
        if (state === 'reconnecting') this.events.emit(ProviderEvents.Stale, { message: 'the connection is being restored' });
      }),
    );
    if (client.state === 'closed') client.connect();
    await caughtUp(client);
  }

  /** Stops listening and closes the client. */
  async onClose(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    this.client.close();
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): Promise<ResolutionDetails<boolean>> {
    return this.resolve(flagKey, 'boolean', defaultValue);
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string): Promise<ResolutionDetails<string>> {
    return this.resolve(flagKey, 'string', defaultValue);
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number): Promise<ResolutionDetails<number>> {
    return this.resolve(flagKey, 'number', defaultValue);
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): Promise<ResolutionDetails<T>> {
    return this.resolve(flagKey, 'object', defaultValue);
  }

  private resolve<T>(flagKey: string, type: FlagType, _defaultValue: T): ResolutionDetails<T> {
    const found = lookupFlag(this.client, flagKey, type);
    if (found.kind === 'not-found' || found.kind === 'not-ready') throw new FlagNotFoundError(found.message);
    if (found.kind === 'type-mismatch') throw new TypeMismatchError(found.message);
    return {
      value: found.value as T,
      reason: this.client.state === 'reconnecting' ? StandardResolutionReasons.STALE : StandardResolutionReasons.STATIC,
      flagMetadata: flagMetadata(found, this.client),
    };
  }
}
