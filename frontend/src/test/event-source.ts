import type { StreamEvent } from "@/client/types.gen";

/**
 * EventSource for component tests (jsdom has none): `vi.stubGlobal("EventSource", FakeEventSource)`,
 * then find the connection by URL and `emit` what the server would send. `send` takes a typed
 * envelope (the generated StreamEvent) and names the SSE event after its `type`, as the server does.
 */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  static readonly CLOSED = 2;
  readyState = 0;
  listeners = new Map<string, Set<(e: Event) => void>>();

  constructor(public url: string) {
    FakeEventSource.instances.push(this);
  }

  static reset() {
    FakeEventSource.instances = [];
  }

  /** The open connection to `url` (e.g. "/api/streams/system"). */
  static at(url: string): FakeEventSource | undefined {
    return FakeEventSource.instances.find((s) => s.url === url && s.readyState !== FakeEventSource.CLOSED);
  }

  addEventListener(type: string, fn: (e: Event) => void) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }

  removeEventListener(type: string, fn: (e: Event) => void) {
    this.listeners.get(type)?.delete(fn);
  }

  close() {
    this.readyState = FakeEventSource.CLOSED;
  }

  /** A bare event (`open`, `error`) or one with JSON data (`reset`, `end`). */
  emit(type: string, data?: unknown) {
    const event = data === undefined ? new Event(type) : new MessageEvent(type, { data: JSON.stringify(data) });
    for (const fn of this.listeners.get(type) ?? []) fn(event);
  }

  /** One stream event, as the server frames it: event name = envelope type, data = envelope. */
  send(envelope: StreamEvent) {
    this.emit(envelope.type, envelope);
  }
}
