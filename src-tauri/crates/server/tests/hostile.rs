//! The pod API against a hostile company: the real server on loopback,
//! spoken to in plain HTTP/1.1. One company cannot hold more than its share
//! of the streamed transfers, and every turn comes back however its
//! transfer ends; a transfer slower than the floor is cut, in either
//! direction, and so is a client that reads nothing; a wait for a stream
//! slot is bounded; a listing page examines a bounded number of rows, and
//! its `next` links lead to the end without naming what the company cannot
//! see.

#[path = "support/answer.rs"]
mod answer;
#[path = "hostile/served.rs"]
mod served;
mod support;

use std::time::{Duration, Instant};

use custodian_core::data::resource::{Mark, NewResource, OCTET_STREAM};
use custodian_core::limits::transfer::TransferLimits;
use custodian_core::parse_path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use answer::{answer_within, parse_answer, pattern, read_answer, Answer};
use served::{quick_floor, started_download, Served, Setup};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_transfer_from_one_company_is_429_while_another_company_still_streams() {
    let served = Served::start(Setup::default()).await;
    // Far more than the socket buffers hold: a transfer nobody reads stays
    // under way.
    let content = pattern(32 << 20);
    served.put("/notes/film", content.clone(), Mark::Keep);
    let get = "GET /pod/notes/film HTTP/1.1\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = served.send(&served.acme, get, b"").await;
        let first = started_download(&mut s).await;
        assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
        held.push(s);
    }
    let third = served.exchange(&served.acme, get).await;
    assert_eq!(third.status, 429, "{third:?}");
    assert_eq!(third.header("retry-after"), Some("10"));
    let text = String::from_utf8_lossy(&third.body);
    assert!(text.contains("2 large transfers"), "{text}");
    // The person's log says so.
    let entries = served.logged("/notes/film", 3).await;
    let refused: Vec<_> = entries
        .iter()
        .filter(|e| e.reason.as_deref() == Some("too_many_transfers"))
        .collect();
    assert_eq!(refused.len(), 1, "{entries:?}");
    assert_eq!(refused[0].outcome.to_string(), "denied");

    // Another company still gets its stream, whole.
    let other = tokio::time::timeout(
        Duration::from_secs(20),
        served.exchange(&served.globex, get),
    )
    .await
    .expect("the other company waited");
    assert_eq!(other.status, 200);
    assert!(other.body == content);

    // A company that hangs up gives its turn back.
    held.pop();
    let started = Instant::now();
    loop {
        let mut s = served.send(&served.acme, get, b"").await;
        if started_download(&mut s).await.starts_with(b"HTTP/1.1 200") {
            // Held, with the other: Acme is at its cap again.
            held.push(s);
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Uploads count too: with both turns held, Acme's large PUT is refused
    // before its body is read, and stores nothing.
    let len = 4 << 20;
    let mut s = served
        .send(
            &served.acme,
            &format!("PUT /pod/notes/up HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"),
            b"",
        )
        .await;
    let answer = answer_within(&mut s, "the pod waited for the body").await;
    assert_eq!(answer.status, 429, "{answer:?}");
    assert_eq!(served.stored("/notes/up"), None);
    let entry = &served.logged("/notes/up", 1).await[0];
    assert_eq!(entry.reason.as_deref(), Some("too_many_transfers"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_slower_than_the_floor_is_cut_with_408_and_stores_nothing() {
    // A floor twice the trickle below, judged over whole seconds: a fast
    // upload on a loaded machine keeps 100 KiB in every second with room
    // to spare, even through a pause of most of one.
    let served = Served::start(Setup {
        transfers: TransferLimits {
            min_rate: 100 * 1024,
            window: Duration::from_secs(1),
            grace: Duration::from_secs(1),
            ..TransferLimits::default()
        },
        ..Setup::default()
    })
    .await;
    let len = 4 << 20;
    let s = served
        .send(
            &served.acme,
            &format!("PUT /pod/notes/slow HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"),
            b"",
        )
        .await;
    let (mut from, mut to) = s.into_split();
    // 1 KiB every 20 ms: about 50 KiB/s, never idle, half the floor.
    let trickle = tokio::spawn(async move {
        let piece = pattern(1024);
        for _ in 0..len / 1024 {
            if to.write_all(&piece).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let answer = tokio::time::timeout(Duration::from_secs(15), read_answer(&mut from))
        .await
        .expect("the slow upload was never cut")
        .expect("an answer");
    trickle.abort();
    assert_eq!(answer.status, 408, "{answer:?}");
    let text = String::from_utf8_lossy(&answer.body);
    assert!(text.contains("slower than"), "{text}");
    assert_eq!(served.stored("/notes/slow"), None);
    let entry = &served.logged("/notes/slow", 1).await[0];
    assert_eq!(entry.outcome.to_string(), "denied");
    assert_eq!(entry.reason.as_deref(), Some("too_slow"));

    // At full speed, the same size goes in under the same floor.
    let content = pattern(len);
    let mut s = served
        .send(
            &served.acme,
            &format!("PUT /pod/notes/fast HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"),
            &content,
        )
        .await;
    let answer = read_answer(&mut s).await.expect("an answer");
    assert_eq!(answer.status, 201, "{answer:?}");
    assert_eq!(served.stored("/notes/fast"), Some(len as u64));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_read_slower_than_the_floor_is_cut() {
    let served = Served::start(Setup {
        transfers: quick_floor(),
        ..Setup::default()
    })
    .await;
    let content = pattern(32 << 20);
    served.put("/notes/film", content.clone(), Mark::Keep);
    let mut s = served
        .send(&served.acme, "GET /pod/notes/film HTTP/1.1\r\n\r\n", b"")
        .await;
    // 1 KiB every 20 ms for two seconds: far under the floor.
    let mut got = Vec::new();
    let slow_until = Instant::now() + Duration::from_secs(2);
    let mut piece = vec![0u8; 1024];
    while Instant::now() < slow_until {
        match s.read(&mut piece).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&piece[..n]),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Then as fast as it comes: what was sent before the cut, then the end.
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest).await;
        rest
    })
    .await
    .expect("the connection stayed open");
    got.extend_from_slice(&rest);
    let answer = parse_answer(&got).expect("a head");
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-length"),
        Some(&*content.len().to_string())
    );
    assert!(
        answer.body.len() < content.len(),
        "the slow download was not cut"
    );
    assert!(answer.body == content[..answer.body.len()], "wrong bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_nothing_of_a_ranged_download_is_cut_and_its_turns_return() {
    let served = Served::start(Setup {
        write_timeout: Some(Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    let content = pattern(32 << 20);
    served.put("/notes/film", content.clone(), Mark::Keep);
    // Ranges far larger than the socket buffers, never read past the head.
    let ranged = "GET /pod/notes/film HTTP/1.1\r\nRange: bytes=0-25165823\r\n\r\n";
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = served.send(&served.acme, ranged, b"").await;
        let first = started_download(&mut s).await;
        assert!(first.starts_with(b"HTTP/1.1 206"), "{first:?}");
        held.push(s);
    }
    let third = served.exchange(&served.acme, ranged).await;
    assert_eq!(third.status, 429, "{third:?}");
    // The write time-out cuts both connections (the pod's floor and stall
    // would take 30 s or more), and the turns come back.
    let started = Instant::now();
    loop {
        let answer = served
            .exchange(
                &served.acme,
                "GET /pod/notes/film HTTP/1.1\r\nRange: bytes=0-9\r\n\r\n",
            )
            .await;
        if answer.status == 206 {
            assert_eq!(answer.body, &content[..10]);
            break;
        }
        assert_eq!(answer.status, 429, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the turns never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each held connection was closed, cut or (on a machine whose socket
    // buffers took the whole range) ended: nothing of it is held.
    for mut s in held {
        let mut rest = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest))
            .await
            .expect("the connection was never closed")
            .ok();
    }
}

/// Whether Acme holds no transfer turn at all: it can take its two, and
/// not a third. Waits (a turn comes back once the pod has noticed).
async fn acme_holds_no_turn(served: &Served) {
    let get = "GET /pod/notes/film HTTP/1.1\r\n\r\n";
    let started = Instant::now();
    'again: loop {
        let mut held = Vec::new();
        for _ in 0..2 {
            let mut s = served.send(&served.acme, get, b"").await;
            if !started_download(&mut s).await.starts_with(b"HTTP/1.1 200") {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "a turn never came back"
                );
                drop(held);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue 'again;
            }
            held.push(s);
        }
        assert_eq!(served.exchange(&served.acme, get).await.status, 429);
        return;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn turns_come_back_however_a_transfer_ends() {
    let served = Served::start(Setup {
        body_read_timeout: Some(Duration::from_millis(300)),
        ..Setup::default()
    })
    .await;
    served.put("/notes/film", pattern(32 << 20), Mark::Keep);
    let put = "PUT /pod/notes/up HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 4194304\r\n\r\n";
    // A PUT that never sends its body: cut by the body time-out.
    let mut silent = served.send(&served.acme, put, b"").await;
    let answer = answer_within(&mut silent, "a silent body was never cut").await;
    assert_eq!(answer.status, 408, "{answer:?}");
    acme_holds_no_turn(&served).await;
    // A PUT that hangs up before its body.
    drop(served.send(&served.acme, put, b"").await);
    acme_holds_no_turn(&served).await;
    // A HEAD, and a small range read to its end.
    let head = served
        .exchange(&served.acme, "HEAD /pod/notes/film HTTP/1.1\r\n\r\n")
        .await;
    assert_eq!(head.status, 200, "{head:?}");
    let part = served
        .exchange(
            &served.acme,
            "GET /pod/notes/film HTTP/1.1\r\nRange: bytes=0-99999\r\n\r\n",
        )
        .await;
    assert_eq!(part.status, 206, "{part:?}");
    assert_eq!(part.body.len(), 100_000);
    acme_holds_no_turn(&served).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_waits_for_a_stream_slot_only_so_long() {
    let served = Served::start(Setup {
        transfers: TransferLimits {
            slot_wait: Duration::from_millis(300),
            ..TransferLimits::default()
        },
        ..Setup::default()
    })
    .await;
    served.put("/notes/film", pattern(32 << 20), Mark::Keep);
    let get = "GET /pod/notes/film HTTP/1.1\r\n\r\n";
    // Two companies at their cap hold the pod's four stream slots.
    let mut held = Vec::new();
    for token in [&served.acme, &served.acme, &served.globex, &served.globex] {
        let mut s = served.send(token, get, b"").await;
        let first = started_download(&mut s).await;
        assert!(first.starts_with(b"HTTP/1.1 200"), "{first:?}");
        held.push(s);
    }
    // A third company is turned away after the wait, not kept for ever.
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        served.exchange(&served.initech, get),
    )
    .await
    .expect("the wait for a slot had no end");
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.header("retry-after"), Some("10"));
    // Decided before its entry was logged: the entry says refused.
    let entries = served.logged("/notes/film", 5).await;
    let turned_away: Vec<_> = entries
        .iter()
        .filter(|e| e.reason.as_deref() == Some("no_stream_slot"))
        .collect();
    assert_eq!(turned_away.len(), 1, "{entries:?}");
    assert_eq!(turned_away[0].outcome.to_string(), "denied");
}

/// The `after` of a `Link: <…>; rel="next"` header, percent-decoded.
fn next_after(answer: &Answer) -> Option<String> {
    let link = answer.header("link")?;
    assert!(link.ends_with("rel=\"next\""), "{link}");
    let target = &link[1..link.find('>')?];
    let query = target.split_once('?')?.1;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs
        .into_iter()
        .find(|(n, _)| n == "after")
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_page_examines_a_bounded_number_of_rows_and_next_leads_to_the_end() {
    let served = Served::start(Setup {
        examine_max: Some(50),
        ..Setup::default()
    })
    .await;
    // 1,000 resources the grant does not reach (marked sensitive), and
    // three it does.
    let hidden = (0..1000).map(|i| {
        (
            parse_path(&format!("/notes/h{i:04}")).unwrap(),
            NewResource {
                content: b"secret".to_vec(),
                content_type: OCTET_STREAM.into(),
                category: None,
                mark: Mark::Sensitive,
            },
        )
    });
    served.vault.store().put_batched(hidden, 1000).unwrap();
    for path in ["/notes/a", "/notes/h0500x", "/notes/z"] {
        served.put(path, b"open".to_vec(), Mark::Keep);
    }
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut after: Option<String> = None;
    loop {
        let query = match &after {
            Some(a) => {
                serde_urlencoded::to_string([("after", a), ("limit", &"2".to_string())]).unwrap()
            }
            None => "limit=2".into(),
        };
        let page = served
            .exchange(
                &served.acme,
                &format!("GET /pod/notes/?{query} HTTP/1.1\r\n\r\n"),
            )
            .await;
        assert_eq!(page.status, 200, "{page:?}");
        pages += 1;
        let json: serde_json::Value = serde_json::from_slice(&page.body).unwrap();
        for m in json["members"].as_array().unwrap() {
            seen.push(m["path"].as_str().unwrap().to_string());
        }
        let Some(next) = next_after(&page) else { break };
        // A company's cursor is always sealed, never a path.
        assert!(next.starts_with('~') && !next.contains("notes"), "{next}");
        after = Some(next);
        assert!(pages < 200, "the listing never ends");
    }
    assert_eq!(seen, ["/notes/a", "/notes/h0500x", "/notes/z"]);
    // 1,003 rows, at most 50 a page.
    assert!(pages >= 20, "{pages} pages");

    // A changed cursor is refused with what to do.
    let page = served
        .exchange(&served.acme, "GET /pod/notes/?limit=2 HTTP/1.1\r\n\r\n")
        .await;
    let sealed = next_after(&page).unwrap();
    assert!(sealed.starts_with('~'), "{sealed}");
    let forged = format!("{}A", &sealed[..sealed.len() - 1]);
    let forged = if forged == sealed {
        format!("{}B", &sealed[..sealed.len() - 1])
    } else {
        forged
    };
    let query = serde_urlencoded::to_string([("after", forged)]).unwrap();
    let refused = served
        .exchange(
            &served.acme,
            &format!("GET /pod/notes/?{query} HTTP/1.1\r\n\r\n"),
        )
        .await;
    assert_eq!(refused.status, 400, "{refused:?}");
    let text = String::from_utf8_lossy(&refused.body);
    assert!(text.contains("start the listing again"), "{text}");
}
