//! The Slack endpoints behind an API Gateway HTTP API (payload format 2.0): `request` serves
//! `POST /slack/commands` with [`commands`], `approve` serves `POST /slack/interactions` with
//! [`interactions`].
//!
//! `lambda_http` has already turned the event into an HTTP request, base64 bodies decoded, so
//! the bytes handed to the ingress are the bytes Slack signed. The ingress verifies the
//! signature before reading anything and answers every outcome with a [`Reply`], so these
//! handlers never fail: an error would reach Slack as API Gateway's 500 and be retried.

use std::convert::Infallible;

use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};
use powerpole_core::Clock;
use powerpole_core::ports::{RequestStore, Workflow};
use powerpole_slack::{Reply, SlackIngress};

/// `POST /slack/commands`: the slash command `/powerpole`.
///
/// # Errors
/// Never; the signature, the payload and the use case's outcome all become the response.
pub async fn commands<S, W, C>(
    ingress: &SlackIngress<S, W, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: RequestStore,
    W: Workflow,
    C: Clock,
{
    if request.method() != Method::POST {
        return Ok(method_not_allowed());
    }
    let reply = ingress
        .command(request.headers(), request.body().as_ref())
        .await;
    Ok(response(&reply))
}

/// `POST /slack/interactions`: modal submissions and the buttons on approval cards and notices.
///
/// # Errors
/// Never; the signature, the payload and the use case's outcome all become the response.
pub async fn interactions<S, W, C>(
    ingress: &SlackIngress<S, W, C>,
    request: Request,
) -> Result<Response<Body>, Infallible>
where
    S: RequestStore,
    W: Workflow,
    C: Clock,
{
    if request.method() != Method::POST {
        return Ok(method_not_allowed());
    }
    let reply = ingress
        .interaction(request.headers(), request.body().as_ref())
        .await;
    Ok(response(&reply))
}

/// The HTTP response for a [`Reply`]: its status, and its JSON body with `content-type` when
/// there is one (an empty 200 is Slack's plain acknowledgement).
#[must_use]
pub fn response(reply: &Reply) -> Response<Body> {
    let body = reply
        .body
        .as_ref()
        .map_or(Body::Empty, |json| Body::Text(json.to_string()));
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Some(content_type) = reply.content_type() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}

fn method_not_allowed() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_map_to_status_body_and_content_type() {
        let ack = response(&Reply::ack());
        assert_eq!(ack.status(), StatusCode::OK);
        assert!(ack.headers().get(header::CONTENT_TYPE).is_none());
        assert!(matches!(ack.body(), Body::Empty));

        let json = response(&Reply::json(
            json!({"response_type": "ephemeral", "text": "hi"}),
        ));
        assert_eq!(json.status(), StatusCode::OK);
        assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_slice(json.body().as_ref()).unwrap();
        assert_eq!(body["text"], "hi");

        let refused = response(&Reply {
            status: 401,
            body: Some(json!({"error": "bad signature"})),
        });
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refused.headers()[header::CONTENT_TYPE], "application/json");

        let odd = response(&Reply {
            status: 42,
            body: None,
        });
        assert_eq!(odd.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
