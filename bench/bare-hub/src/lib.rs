//! The bare hub: a benchmark reference, not part of Cascade.
//!
//! The smallest Durable Object that fans a frame out to its WebSockets the naive way: one
//! hub, sockets accepted with the Hibernation API and greeted as a Cascade hub greets them
//! (so the same Rust client follows it), and a broadcast that loops over the sockets calling
//! `send_with_str` — which copies and decodes the Rust string across the wasm boundary once
//! per socket. No authentication, no storage, no rules, no resume: whatever Cascade's fan-out
//! costs beyond this is the price of its full path (`bench/`, docs/BENCHMARKS.md).
//!
//! - `GET /connect` (WebSocket upgrade): joins the hub.
//! - `POST /broadcast` with a text body: sends it to every socket; answers how many took it.

use worker::{
    durable_object, event, wasm_bindgen, Context, DurableObject, Env, Request, Response, Result,
    State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
};

/// What every socket is sent on joining: the frames a Cascade hub sends a new client with
/// nothing to replay.
const GREETING: [&str; 3] = [
    r#"{"type":"hello","tenant":"bare","seq":0,"resume":"snapshot"}"#,
    r#"{"type":"snapshot","tenant":"bare","seq":0,"configs":{}}"#,
    r#"{"type":"synced","seq":0}"#,
];

/// Routes every request to the one hub.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    console_error_panic_hook::set_once();
    let namespace = env.durable_object("BARE_HUB")?;
    let stub = namespace.id_from_name("hub")?.get_stub()?;
    stub.fetch_with_request(req).await
}

/// The one hub. See the module docs.
#[durable_object]
pub struct BareHub {
    state: State,
}

impl DurableObject for BareHub {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.headers().get("upgrade")?.as_deref() == Some("websocket") {
            let pair = WebSocketPair::new()?;
            self.state.accept_web_socket(&pair.server);
            for text in GREETING {
                pair.server.send_with_str(text)?;
            }
            return Response::from_websocket(pair.client);
        }
        let text = req.text().await?;
        // The naive loop the benchmark measures: one string conversion per socket.
        let sent = self
            .state
            .get_websockets()
            .iter()
            .filter(|ws| ws.send_with_str(&text).is_ok())
            .count();
        Response::ok(sent.to_string())
    }

    async fn websocket_message(
        &self,
        _ws: WebSocket,
        _message: WebSocketIncomingMessage,
    ) -> Result<()> {
        Ok(())
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _was_clean: bool,
    ) -> Result<()> {
        ws.close(Some(1000), Some("closing"))
    }
}
