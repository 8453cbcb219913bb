// The server's event stream (WebSocket /ws): one connection for the whole
// app, reconnected with backoff, so pages update live without reloading.
import { token } from "./api.js";

export interface ServerEvent {
  type: string;
  payload: Record<string, unknown>;
  timestamp: string;
}

type Listener = (event: ServerEvent) => void;
type ConnectionListener = (connected: boolean) => void;

const listeners = new Set<Listener>();
const connectionListeners = new Set<ConnectionListener>();
let socket: WebSocket | null = null;
let retryDelay = 1000;
let retryTimer: number | undefined;
let wanted = false;
let connected = false;

function setConnected(value: boolean): void {
  if (connected === value) return;
  connected = value;
  for (const listener of connectionListeners) listener(value);
}

function open(): void {
  const t = token();
  if (!wanted || !t) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/ws?token=${encodeURIComponent(t)}`);
  socket = ws;
  ws.onopen = () => {
    retryDelay = 1000;
    setConnected(true);
  };
  ws.onmessage = (message) => {
    let event: ServerEvent;
    try {
      event = JSON.parse(String(message.data)) as ServerEvent;
    } catch {
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.warn("event listener failed", error);
      }
    }
  };
  ws.onclose = () => {
    if (socket !== ws) return;
    socket = null;
    setConnected(false);
    if (!wanted) return;
    retryTimer = window.setTimeout(open, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 30_000);
  };
}

export function connectEvents(): void {
  wanted = true;
  if (!socket) open();
}

export function disconnectEvents(): void {
  wanted = false;
  window.clearTimeout(retryTimer);
  const ws = socket;
  socket = null;
  ws?.close();
  setConnected(false);
}

// Returns the unsubscribe function: pages call it when they are left.
export function onEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function onConnection(listener: ConnectionListener): () => void {
  connectionListeners.add(listener);
  listener(connected);
  return () => connectionListeners.delete(listener);
}
