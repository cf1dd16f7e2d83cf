import type { IncomingMessage } from 'node:http';
import type { ApolloServerPlugin } from '@apollo/server';
import type { RequestHandler, Response } from 'express';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  type DocumentNode,
  type GraphQLFormattedError,
  type OperationDefinitionNode,
} from 'graphql';
import type { Viewer } from '../auth/viewer';
import { describeUnavailable } from '../db/database';
import type { ClientInfo, GavelContext } from '../graphql/context';
import { ErrorCode } from '../shared/errors';
import type { GavelMetrics } from './metrics';
import { requestIdFrom, REQUEST_ID_HEADER, type OperationRecorder, type OperationTrace } from './operations';

/** `OK`, or the first error's code (what the client branches on). */
export function outcomeCode(errors: readonly GraphQLFormattedError[] | undefined): string {
  if (!errors || errors.length === 0) return 'OK';
  const code = errors[0]!.extensions?.code;
  return typeof code === 'string' ? code : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** The code an HTTP answer stands for when no GraphQL result said more (transport failures, 401). */
export function codeOfStatus(status: number): string {
  if (status < 400) return 'OK';
  if (status === 401) return ErrorCode.UNAUTHENTICATED;
  if (status === 413) return ErrorCode.PAYLOAD_TOO_LARGE;
  if (status === 503) return ErrorCode.SERVICE_UNAVAILABLE;
  return status < 500 ? ErrorCode.BAD_REQUEST : ErrorCode.INTERNAL_SERVER_ERROR;
}

/** Every response names its request: the client's `x-request-id` when sane, else a new one. */
export function requestIds(): RequestHandler {
  return (req, res, next) => {
    const requestId = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    next();
  };
}

/**
 * Starts one trace per GraphQL request (GET or POST; after {@link requestIds}) and finishes it when
 * the response is sent, or the client gives up (`ABORTED`): requests Apollo never sees (a body
 * that is not JSON or too large, a rejected key) are counted and logged too.
 */
export function traceGraphqlRequests(recorder: OperationRecorder): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'GET' || req.method === 'POST') {
      const trace = recorder.start('http', res.locals.requestId as string);
      res.locals.trace = trace;
      res.once('close', () =>
        recorder.finish(
          trace,
          res.writableFinished ? (trace.code ?? codeOfStatus(res.statusCode)) : 'ABORTED',
          res.statusCode,
        ),
      );
    }
    next();
  };
}

/** The trace {@link traceGraphqlRequests} started for this response, if any. */
export function traceOf(res: Response): OperationTrace | undefined {
  return res.locals.trace as OperationTrace | undefined;
}

/** Fills in what the document says about the operation: name, type, top-level fields. */
function describe(trace: OperationTrace, operation: OperationDefinitionNode | null | undefined, resolved: boolean) {
  if (!operation) return;
  trace.name = operation.name?.value;
  trace.type = operation.operation;
  trace.resolved = resolved;
  trace.rootFields = operation.selectionSet.selections.flatMap((selection) =>
    selection.kind === Kind.FIELD ? [selection.name.value] : [],
  );
}

/** Records who called (role) and pseudonymous hashes of where from, never the values themselves. */
export function describeCaller(
  recorder: OperationRecorder,
  trace: OperationTrace | undefined,
  client: ClientInfo,
  viewer: Viewer,
): void {
  if (!trace) return;
  trace.role = viewer.role ?? 'ANONYMOUS';
  trace.clientHash = recorder.hash(client.ip);
  trace.sessionHash = client.sessionId === undefined ? undefined : recorder.hash(client.sessionId);
}

/**
 * The Apollo plugin that identifies each HTTP operation and its outcome for its trace (the trace
 * itself is finished by the HTTP layer when the response is sent, which also covers requests
 * Apollo never sees: bodies that are not JSON, oversized, or a rejected key).
 */
export function operationTracePlugin(): ApolloServerPlugin<GavelContext> {
  return {
    async requestDidStart({ contextValue }) {
      const trace = contextValue.trace;
      if (!trace) return;
      return {
        async didResolveOperation({ operation }) {
          describe(trace, operation, true);
        },
        async didEncounterErrors({ errors }) {
          noteUnavailableCause(trace, errors);
        },
        async willSendResponse({ response, document, request }) {
          // Refused before resolution (parse, validation, limits): what the document says still helps.
          if (trace.type === undefined && document)
            describe(trace, getOperationAST(document, request.operationName), false);
          trace.code = outcomeCode(response.body.kind === 'single' ? response.body.singleResult.errors : undefined);
        },
      };
    },
  };
}

/**
 * Keeps on the trace why the database was unavailable, when one of these errors (as raised, before
 * formatting) says so: the operation's log line names it, and nothing else logs it.
 */
export function noteUnavailableCause(trace: OperationTrace | undefined, errors: readonly unknown[]): void {
  if (!trace || trace.cause !== undefined) return;
  for (const error of errors) {
    trace.cause = describeUnavailable(error);
    if (trace.cause !== undefined) return;
  }
}

interface WsOperation {
  readonly trace: OperationTrace;
  /** The `subscribe` message's query, to name a refused operation in its log line. */
  readonly query: unknown;
  /** A running subscription: counted in the gauge until it completes. */
  active: boolean;
}

/**
 * Traces GraphQL operations over websockets through graphql-ws's hooks: one trace per subscribe
 * message, finished when its outcome is known — refused, answered (queries), or the subscription
 * started; then counts the pushes of running subscriptions and keeps the subscription gauge.
 * The request id is the connection's (`x-request-id` of the upgrade request, echoed in the 101).
 */
export class WsOperationTracker {
  private readonly connectionIds = new WeakMap<IncomingMessage, string>();
  private readonly operations = new WeakMap<object, Map<string, WsOperation>>();

  /**
   * @param parse - the policy's parser (token limit included), used again only for refused
   *   operations, so that their log line names them
   */
  constructor(
    private readonly recorder: OperationRecorder,
    private readonly metrics: GavelMetrics,
    private readonly parse: (query: string) => DocumentNode | GraphQLError,
  ) {}

  /** The request id of a websocket connection, taken from its upgrade request or generated. */
  connectionRequestId(request: IncomingMessage): string {
    let id = this.connectionIds.get(request);
    if (id === undefined) this.connectionIds.set(request, (id = requestIdFrom(request.headers[REQUEST_ID_HEADER])));
    return id;
  }

  /** A `subscribe` message arrived (`ctx` is graphql-ws's per-connection context). */
  subscribed(ctx: { extra: { request: IncomingMessage } }, id: string, payload: { query?: unknown }): OperationTrace {
    let byId = this.operations.get(ctx);
    if (!byId) this.operations.set(ctx, (byId = new Map()));
    const trace = this.recorder.start('ws', this.connectionRequestId(ctx.extra.request));
    byId.set(id, { trace, query: payload.query, active: false });
    return trace;
  }

  /** The operation passed the policy. */
  prepared(ctx: object, id: string, prepared: { document: DocumentNode; operationName: string | undefined }): void {
    const operation = this.operations.get(ctx)?.get(id);
    if (operation) describe(operation.trace, getOperationAST(prepared.document, prepared.operationName), true);
  }

  /** The trace of an operation in flight, if any (for its context). */
  trace(ctx: object, id: string): OperationTrace | undefined {
    return this.operations.get(ctx)?.get(id)?.trace;
  }

  /**
   * Execution returned: a stream (a subscription that started) or a single result (sent as `next`;
   * a database failure among its errors is noted for the log line).
   */
  executed(ctx: object, id: string, result: unknown): void {
    const operation = this.operations.get(ctx)?.get(id);
    if (!operation || typeof result !== 'object' || result === null) return;
    const { errors } = result as { errors?: unknown };
    if (Array.isArray(errors)) noteUnavailableCause(operation.trace, errors);
    if (!(Symbol.asyncIterator in result)) return;
    operation.active = true;
    this.metrics.recordSubscription(1);
    this.recorder.finish(operation.trace, 'OK');
  }

  /** A `next` message leaves, with errors already formatted. */
  next(ctx: object, id: string, errors: readonly GraphQLFormattedError[] | undefined): void {
    const operation = this.operations.get(ctx)?.get(id);
    if (!operation) return;
    if (operation.active) this.metrics.recordPush();
    else this.recorder.finish(operation.trace, outcomeCode(errors));
  }

  /** An `error` message leaves (a refusal, or a subscription that failed while running). */
  error(ctx: object, id: string, errors: readonly GraphQLFormattedError[]): void {
    const byId = this.operations.get(ctx);
    const operation = byId?.get(id);
    if (!operation) return;
    if (operation.trace.type === undefined && typeof operation.query === 'string') {
      const document = this.parse(operation.query);
      if (!(document instanceof GraphQLError)) describe(operation.trace, getOperationAST(document), false);
    }
    this.recorder.finish(operation.trace, outcomeCode(errors));
    // A refused operation gets no `complete`; a running one does, and is released there.
    if (!operation.active) byId!.delete(id);
  }

  /** The operation is over (client `complete`, end of stream, or the socket closed). */
  completed(ctx: object, id: string): void {
    const byId = this.operations.get(ctx);
    const operation = byId?.get(id);
    if (!operation) return;
    byId!.delete(id);
    if (operation.active) this.metrics.recordSubscription(-1);
  }
}
