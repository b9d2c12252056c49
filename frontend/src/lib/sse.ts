import { useEffect, useRef, useState } from "react";

import type { StreamEvent } from "@/client/types.gen";

/**
 * Subscribes to GET /api/streams/{topic} with EventSource (which resumes with Last-Event-ID
 * by itself). Each event's name is its envelope's `type` and its `data` the envelope; both are
 * generated from the OpenAPI document (`StreamEvent`, a union discriminated by `type`), so a
 * handler receives the exact envelope of the event it is registered for. Handlers are expected
 * to write into the TanStack Query cache, never into a second store.
 */
export type StreamEventType = StreamEvent["type"];

/** The envelope of one event type (`run_started` → RunEvent narrowed to that type). */
export type EventOf<K extends StreamEventType> =
  StreamEvent extends infer E ? (E extends { type: infer T } ? (K extends T ? E & { type: K } : never) : never) : never;

export type StreamState = "connecting" | "open" | "closed";

/**
 * One handler per event type, plus the stream's own moments: `open` on every (re)connection
 * (e.g. to refetch what a gap may have hidden) and `reset` when the server trimmed events the
 * client missed (reload state).
 */
export type StreamHandlers = { [K in StreamEventType]?: (envelope: EventOf<K>) => void } & {
  open?: () => void;
  reset?: () => void;
};

/** `params` adds query parameters (e.g. `{ run: id }` for the logs topic); a change reconnects. */
export function useEventStream(
  topic: string,
  handlers: StreamHandlers,
  enabled = true,
  params?: Record<string, string>,
): StreamState {
  const handlersRef = useRef(handlers);
  const [state, setState] = useState<StreamState>("connecting");

  useEffect(() => {
    handlersRef.current = handlers;
  });

  const types = Object.keys(handlers).sort().join(",");
  const search = params ? new URLSearchParams(params).toString() : "";

  useEffect(() => {
    if (!enabled || typeof EventSource === "undefined") return;
    const source = new EventSource(`/api/streams/${encodeURIComponent(topic)}${search ? `?${search}` : ""}`);
    const onOpen = () => {
      setState("open");
      handlersRef.current.open?.();
    };
    const onError = () => setState(source.readyState === EventSource.CLOSED ? "closed" : "connecting");
    // The server ends a stream whose caller lost access (signed out, token revoked, role removed):
    // reconnecting would only be refused, so stop here; the next API call asks to log in again.
    const onEnd = () => {
      source.close();
      setState("closed");
    };
    const listeners = types.split(",").filter((t) => t && t !== "open").map((type) => {
      const listener = (event: MessageEvent<string>) => {
        const handler = (handlersRef.current as Record<string, ((e: StreamEvent) => void) | undefined>)[type];
        if (type === "reset") {
          handlersRef.current.reset?.();
          return;
        }
        let envelope: StreamEvent;
        try {
          envelope = JSON.parse(event.data) as StreamEvent;
        } catch {
          return;
        }
        if (envelope.type === type) handler?.(envelope);
      };
      source.addEventListener(type, listener as EventListener);
      return [type, listener] as const;
    });
    source.addEventListener("open", onOpen);
    source.addEventListener("error", onError);
    source.addEventListener("end", onEnd);
    return () => {
      for (const [type, listener] of listeners) source.removeEventListener(type, listener as EventListener);
      source.removeEventListener("open", onOpen);
      source.removeEventListener("error", onError);
      source.removeEventListener("end", onEnd);
      source.close();
      setState("closed");
    };
  }, [topic, types, enabled, search]);

  return enabled ? state : "closed";
}
