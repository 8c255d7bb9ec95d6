//! Opening the approval: the workflow's approval gate hands over its task token, which is stored
//! with the request before the card is posted, so every click on the card can resume it.

use crate::error::Result;
use crate::ids::RequestId;
use crate::lifecycle::{AccessRequest, RequestState};
use crate::ports::{Chat, RequestStore, TaskToken};
use crate::usecases::load;

/// What the approval gate found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalGate {
    /// The token is stored and the card is in the approvers' channel; wait for a click.
    Opened(AccessRequest),
    /// The request is no longer pending (cancelled, or decided by a previous attempt of the
    /// gate); there is nothing to wait for.
    Closed(AccessRequest),
}

/// Stores the gate's `token` with request `id` and posts the approval card (or, when a previous
/// attempt posted it, redraws it), remembering where it is.
///
/// # Errors
/// [`crate::Error::NotFound`] for an unknown request; the store's and the chat's errors (nothing
/// is posted when the token could not be stored).
pub async fn open_approval<S, C>(
    store: &S,
    chat: &C,
    id: RequestId,
    token: TaskToken,
) -> Result<ApprovalGate>
where
    S: RequestStore,
    C: Chat,
{
    let mut request = load(store, id).await?;
    if request.state() != RequestState::Pending {
        return Ok(ApprovalGate::Closed(request));
    }
    let expected = request.version();
    request.set_approval_token(token)?;
    store.update(&request, expected).await?;
    match request.resources().approval_card.clone() {
        Some(card) => chat.update_approval_card(&card, &request).await?,
        None => {
            let card = chat.post_approval_card(&request).await?;
            request.set_approval_card(card);
            store.update(&request, expected).await?;
        }
    }
    Ok(ApprovalGate::Opened(request))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::MemoryStore;
    use crate::usecases::fakes::{RecordingChat, now, pending, user};
    use crate::{Actor, Transition};

    #[tokio::test]
    async fn the_token_is_stored_and_the_card_posted_once_per_request() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let request = pending(&store, "U1").await;

        open_approval(&store, &chat, request.id(), TaskToken("t1".into()))
            .await
            .unwrap();
        let again = open_approval(&store, &chat, request.id(), TaskToken("t2".into()))
            .await
            .unwrap();

        let ApprovalGate::Opened(opened) = again else {
            panic!("gate closed: {again:?}")
        };
        let stored = store.get(request.id()).await.unwrap().unwrap();
        assert_eq!(stored, opened);
        assert_eq!(
            stored.resources().approval_token,
            Some(TaskToken("t2".into()))
        );
        assert_eq!(
            stored.resources().approval_card,
            Some(chat.cards_posted()[0].clone())
        );
        assert_eq!(
            chat.cards_posted().len(),
            1,
            "a retried gate must not post a second card"
        );
        assert_eq!(chat.card_states(), vec![RequestState::Pending]);
    }

    #[tokio::test]
    async fn a_request_no_longer_pending_closes_the_gate_without_a_card() {
        let (store, chat) = (MemoryStore::new(), RecordingChat::default());
        let mut request = pending(&store, "U1").await;
        let expected = request.version();
        request
            .apply(Transition::Cancel, Actor::User(user("U1")), now(), "")
            .unwrap();
        store.update(&request, expected).await.unwrap();

        let gate = open_approval(&store, &chat, request.id(), TaskToken("t".into()))
            .await
            .unwrap();

        assert!(matches!(gate, ApprovalGate::Closed(r) if r.state() == RequestState::Cancelled));
        assert!(chat.cards_posted().is_empty());
    }
}
