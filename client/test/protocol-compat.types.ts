/**
 * The hand-kept wire types of @cascade/client (`types.ts`, with their narrower unions and
 * docs) checked against the ones generated from the Rust protocol types
 * (`generated/protocol.ts`, ts-rs; kept current by the `typescript` test of
 * cascade-protocol): the same fields, and every value the client's types allow is one the
 * Rust types describe. Checked by `tsc --noEmit -p .` (part of `npm run build`).
 */
import type {
  ChangeEventType,
  ChangeFrame,
  ClientFrame,
  ConfigDocument,
  ErrorFrame,
  HelloFrame,
  PlatformSyncStatusFrame,
  PongFrame,
  Problem,
  ResumeMode,
  ServerFrame,
  SnapshotFrame,
  SyncedFrame,
  TenantSyncStatusFrame,
  wire,
} from '@cascade/client';

/** `true` when A's values are B's and both have the same fields; otherwise a type naming the difference. */
type Matches<A, B> = [A] extends [B]
  ? [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never]
    ? true
    : { fieldsOnlyInClient: Exclude<keyof A, keyof B>; fieldsOnlyInRust: Exclude<keyof B, keyof A> }
  : { notAssignable: A; to: B };
type Frame<T extends wire.ServerFrame['type']> = Extract<wire.ServerFrame, { type: T }>;
type ChangeOf<T extends ChangeEventType> = ChangeFrame & { type: T };
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : { differs: [A, B] }) : { differs: [A, B] };

export const frames: [
  Matches<HelloFrame, Frame<'hello'>>,
  Matches<SnapshotFrame, Frame<'snapshot'>>,
  Matches<SyncedFrame, Frame<'synced'>>,
  Matches<TenantSyncStatusFrame, Extract<Frame<'sync-status'>, { scope: 'tenant' }>>,
  Matches<PlatformSyncStatusFrame, Extract<Frame<'sync-status'>, { scope: 'platform' }>>,
  Matches<ChangeOf<'config-updated'>, Frame<'config-updated'>>,
  Matches<ChangeOf<'module-changed'>, Frame<'module-changed'>>,
  Matches<ChangeOf<'auth-changed'>, Frame<'auth-changed'>>,
  Matches<ChangeOf<'rbac-changed'>, Frame<'rbac-changed'>>,
  Matches<PongFrame, Frame<'pong'>>,
  Matches<ErrorFrame, Frame<'error'>>,
  // Every frame type the server sends is one the client parses, and no other.
  Same<Exclude<ServerFrame['type'], 'unknown'>, wire.ServerFrame['type']>,
  Same<ClientFrame, wire.ClientFrame>,
  Same<ResumeMode, wire.Resume>,
] = [true, true, true, true, true, true, true, true, true, true, true, true, true, true];

export const documents: [Matches<ConfigDocument, wire.StoredDocument>, Matches<Problem, wire.Problem>] = [true, true];
