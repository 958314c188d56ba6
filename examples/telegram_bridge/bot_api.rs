//! The three calls of the Telegram Bot API the bridge needs, over HTTPS
//! with JSON (<https://core.telegram.org/bots/api>):
//!
//! - `getMe`: who the bot is; checks the token at start;
//! - `getUpdates`: long polling. Telegram keeps the request open until
//!   something happens or `timeout` seconds pass, and returns the updates
//!   from `offset` on. Asking with `offset = n` also *confirms* every update
//!   below `n`: Telegram forgets them. That is why the bridge asks for
//!   `n + 1` only once update `n` is safe in wachat's outbox;
//! - `sendMessage`: a text into a chat.
//!
//! Every call is `<api base>/bot<token>/<method>`, and every answer is a
//! JSON object, `{"ok": true, "result": …}` or `{"ok": false, "error_code":
//! 429, "description": "…", "parameters": {"retry_after": 5}}`, whatever the
//! HTTP status. Only the fields the bridge reads are declared; serde skips
//! the others.

use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::Failure;

/// A Telegram user or bot.
#[derive(Debug, Deserialize)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
}

impl User {
    /// How the bridge names a Telegram sender in the room: `Juan Pérez`.
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) => format!("{} {last}", self.first_name),
            None => self.first_name.clone(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Chat {
    /// Negative for groups (`-100…` for supergroups).
    pub id: i64,
}

#[derive(Debug, Deserialize)]
pub struct Message {
    pub chat: Chat,
    /// Absent for messages sent on behalf of a channel.
    pub from: Option<User>,
    /// Absent for photos, stickers and the like, which the bridge skips.
    pub text: Option<String>,
}

/// One thing that happened to the bot. The bridge asks only for new
/// messages (`allowed_updates=["message"]`), so `message` is the field
/// that matters; an update without it still moves the offset.
#[derive(Debug, Deserialize)]
pub struct Update {
    /// Increasing: the offset of the next `getUpdates` is the last one + 1.
    pub update_id: i64,
    pub message: Option<Message>,
}

/// The envelope of every answer.
#[derive(Deserialize)]
struct Answer<T> {
    ok: bool,
    result: Option<T>,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<Parameters>,
}

#[derive(Deserialize)]
struct Parameters {
    /// Seconds to wait after a `429 Too Many Requests`.
    retry_after: Option<u64>,
}

/// A connection to the Bot API for one bot.
pub struct BotApi {
    agent: ureq::Agent,
    /// `<api base>/bot<token>`.
    base: String,
    /// Kept only to blank it out of error messages: whoever holds the
    /// token controls the bot, and logs get pasted into issues.
    token: String,
    /// How long one `getUpdates` may wait on Telegram's side.
    poll: Duration,
}

impl BotApi {
    pub fn new(api_base: &str, token: &str, poll: Duration) -> BotApi {
        let config = ureq::Agent::config_builder()
            // A long poll lasts up to `poll`; well past that, the connection
            // is dead, and waiting longer would only hide it.
            .timeout_global(Some(poll + Duration::from_secs(10)))
            // Telegram explains its errors in the JSON body: read it
            // instead of stopping at the status code.
            .http_status_as_error(false)
            .build();
        BotApi {
            agent: config.into(),
            base: format!("{}/bot{token}", api_base.trim_end_matches('/')),
            token: token.to_string(),
            poll,
        }
    }

    /// The bot itself.
    pub fn get_me(&self) -> Result<User, Failure> {
        let sent = self.agent.get(self.url("getMe")).call();
        self.answer(sent)
    }

    /// The updates from `offset` on, waiting up to the poll time for one.
    pub fn get_updates(&self, offset: i64) -> Result<Vec<Update>, Failure> {
        let sent = self
            .agent
            .get(self.url("getUpdates"))
            .query("offset", offset.to_string())
            .query("timeout", self.poll.as_secs().to_string())
            .query("allowed_updates", r#"["message"]"#)
            .call();
        self.answer(sent)
    }

    /// Sends a plain text (no Markdown, so nothing in it is taken as
    /// formatting) to a chat.
    pub fn send_message(&self, chat_id: i64, text: &str) -> Result<(), Failure> {
        let body = serde_json::json!({ "chat_id": chat_id, "text": text });
        let sent = self.agent.post(self.url("sendMessage")).send_json(&body);
        // The result is the message as Telegram stored it; the bridge
        // needs nothing from it.
        let _message: serde_json::Value = self.answer(sent)?;
        Ok(())
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.base)
    }

    /// Reads an answer, and sorts a failure into "try again later" and
    /// "would fail the same way again".
    fn answer<T: DeserializeOwned>(
        &self,
        sent: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, Failure> {
        let mut response = match sent {
            Ok(response) => response,
            // A URL that cannot work (a bad --api-base) is not going to
            // start working by waiting.
            Err(e @ (ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_))) => {
                return Err(Failure::Permanent(self.clean(e.to_string())));
            }
            // No connection, a timeout, a reset: the network or Telegram
            // is down for now.
            Err(e) => return Err(Failure::retry(self.clean(e.to_string()))),
        };
        let status = response.status().as_u16();
        let answer: Answer<T> = match response.body_mut().read_json() {
            Ok(answer) => answer,
            // Not the Bot API talking: a proxy's error page, a cut body.
            Err(e) => return Err(Failure::retry(format!("HTTP {status}, not a Bot API answer: {e}"))),
        };
        if let (true, Some(result)) = (answer.ok, answer.result) {
            return Ok(result);
        }
        let code = answer.error_code.unwrap_or(status);
        let why = format!("{code} {}", answer.description.unwrap_or_default());
        match code {
            // Too many requests, a conflict with another getUpdates (a
            // second bridge, being stopped), or Telegram's own trouble.
            409 | 429 | 500.. => Err(Failure::Retry {
                why,
                after: answer.parameters.and_then(|p| p.retry_after).map(Duration::from_secs),
            }),
            // 400 Bad Request, 401 Unauthorized (the token), 403 Forbidden
            // (the bot is not in that chat), 404 (no such method or token).
            _ => Err(Failure::Permanent(why)),
        }
    }

    fn clean(&self, text: String) -> String {
        text.replace(&self.token, "<token>")
    }
}
