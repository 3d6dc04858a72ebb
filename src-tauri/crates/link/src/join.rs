//! Running a few futures at once on the current task and collecting their
//! results in order: enough for bounded concurrent deliveries without a
//! `'static` bound (the futures borrow the vault and the client).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

/// Polls every future until all are done; results in the futures' order.
pub async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<Pin<Box<F>>>> =
        futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(fut) = slot {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(value) => {
                        *out = Some(value);
                        *slot = None;
                    }
                    Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    done.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Boxed<'a> = Pin<Box<dyn Future<Output = u32> + 'a>>;

    #[tokio::test]
    async fn results_come_back_in_order_and_futures_run_together() {
        // The first waits for the second: run one after the other, this
        // would never finish.
        let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
        let first: Boxed = Box::pin(async move { rx.await.unwrap_or(0) });
        let second: Boxed = Box::pin(async move {
            tx.send(7).unwrap();
            1
        });
        assert_eq!(join_all([first, second]).await, vec![7, 1]);
    }
}
