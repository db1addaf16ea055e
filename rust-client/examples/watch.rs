//! Watches a tenant's configuration and prints every change.
//!
//! ```sh
//! cargo run -p cascade-client --example watch -- http://127.0.0.1:8787 acme "$(scripts/token tenant-admin acme)" [namespace,...]
//! ```
//!
//! Prints the snapshot it starts from, then one line per event: changes with their `seq`,
//! namespace, scope, author, patch and the resulting effective config; connection events as
//! they happen. Runs until interrupted (Ctrl-C) or until the client closes for good (a
//! refused token).

use cascade_client::{Client, Event, Options};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base_url, tenant, token, rest @ ..] = args.as_slice() else {
        eprintln!("usage: watch BASE_URL TENANT TOKEN [NAMESPACE,...]");
        std::process::exit(2);
    };
    let mut options = Options::new(base_url, token, tenant);
    if let Some(namespaces) = rest.first() {
        options = options.with_namespaces(namespaces.split(',').filter(|n| !n.is_empty()));
    }
    let (client, mut events) = Client::connect_with_events(options);
    while let Some(event) = events.recv().await {
        match event {
            Event::Changed(change) => {
                let c = &change.change;
                println!(
                    "#{} {} {} v{} by {} ({}): {} => {}",
                    c.seq,
                    change.kind.as_str(),
                    c.namespace,
                    c.version,
                    c.triggered_by.as_deref().unwrap_or("?"),
                    c.scope,
                    serde_json::to_string(&c.patch).unwrap_or_default(),
                    change.config
                );
            }
            Event::Snapshot { seq, .. } => {
                println!("snapshot at #{seq}:");
                for (namespace, config) in client.configs() {
                    println!("  {namespace}: {config}");
                }
            }
            Event::Closed { error } => {
                eprintln!(
                    "closed{}",
                    error.map(|e| format!(": {e}")).unwrap_or_default()
                );
                break;
            }
            other => eprintln!("{other:?}"),
        }
    }
}
