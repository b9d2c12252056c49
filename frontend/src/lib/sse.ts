import { useEffect, useRef, useState } from "react";

/**
 * Subscribes to GET /api/streams/{topic} with EventSource (which resumes with Last-Event-ID
 * by itself). Each event's `data` is the JSON envelope {ts, type, id, entity, payload, traceId};
 * handlers are keyed by the envelope type (= the SSE event name) and are expected to write into
 * the TanStack Query cache, never into a second store.
 */
/**
 * The SSE envelope. openapi.json declares the stream route as bare text/event-stream with no
 * schema, so there is no generated type for it yet: this is only the part the UI reads, and each
 * handler casts `payload` to the generated type of the entity it carries.
 */
export interface StreamEnvelope {
  type: string;
  /** When the event happened (ISO 8601). */
  ts?: string;
  id?: string;
  entity?: string;
  payload?: unknown;
  /** Whose the event is (the server only sends what the caller may read). */
  tenant?: string;
  env?: string;
}

export type StreamState = "connecting" | "open" | "closed";
export type StreamHandlers = Record<string, (envelope: StreamEnvelope) => void>;

/**
 * A handler named `open` runs on every (re)connection (e.g. to refetch what a gap may have hidden).
 * `params` adds query parameters (e.g. `{ run: id }` for the logs topic); a change reconnects.
 */
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
      handlersRef.current.open?.({ type: "open" });
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
        let envelope: StreamEnvelope;
        try {
          envelope = JSON.parse(event.data) as StreamEnvelope;
        } catch {
          return;
        }
        handlersRef.current[type]?.(envelope);
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
