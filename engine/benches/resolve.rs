//! Resolving a ~20 KB effective config and computing the patch between two versions.
//!
//! Run with: `CARGO_TARGET_DIR=/tmp/engine-target cargo bench -p cascade-engine --bench resolve -- --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;

use cascade_engine::document::Layer;
use cascade_engine::origin::resolve_with_origins;
use cascade_engine::patch::diff;
use cascade_engine::resolve::{effective_tenant, effective_user, Resolution};
use cascade_engine::scope::Scope;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};

/// A platform layer of `sections` sections, each with scalars, a nested object and an id
/// array of roles: realistic configuration shape.
fn platform(sections: usize) -> Value {
    let mut root = serde_json::Map::new();
    for s in 0..sections {
        let roles: Vec<Value> = (0..4)
            .map(|r| json!({"id": format!("role-{r}"), "permissions": ["read", "write", format!("p{s}-{r}")], "label": format!("Role {r}")}))
            .collect();
        root.insert(
            format!("section{s}"),
            json!({
                "enabled": s % 2 == 0,
                "title": format!("Section number {s}"),
                "limits": {"maxItems": s * 10, "timeoutSeconds": 30, "retries": 3},
                "roles": roles,
                "tags": ["alpha", "beta", "gamma"]
            }),
        );
    }
    Value::Object(root)
}

fn tenant(sections: usize) -> Value {
    let mut root = serde_json::Map::new();
    for s in (0..sections).step_by(3) {
        root.insert(
            format!("section{s}"),
            json!({"title": format!("Tenant title {s}"), "limits": {"retries": 5}, "roles": [{"id": "role-1", "label": "Custom"}, {"id": "extra", "permissions": ["x"]}]}),
        );
    }
    Value::Object(root)
}

fn bench(c: &mut Criterion) {
    let sections = 44;
    let platform = Layer::from_value(platform(sections)).expect("object");
    let tenant = Layer::from_value(tenant(sections)).expect("object");
    let user = Layer::from_value(json!({"section1": {"enabled": false}})).expect("object");
    let effective = effective_tenant(&platform, &tenant);
    let size = serde_json::to_vec(&effective).expect("serializes").len();
    eprintln!("effective config: {size} bytes");

    let mut changed_platform = platform.as_value().clone();
    changed_platform["section4"]["limits"]["timeoutSeconds"] = json!(60);
    changed_platform["section7"]["roles"][2]["label"] = json!("Renamed");
    let changed_platform = Layer::from_value(changed_platform).expect("object");

    c.bench_function("baseline: deep clone of the 20 KB effective config", |b| {
        b.iter(|| black_box(&effective).clone());
    });
    c.bench_function("resolve tenant effective (20 KB)", |b| {
        b.iter(|| effective_tenant(black_box(&platform), black_box(&tenant)));
    });
    c.bench_function("resolve user effective (20 KB)", |b| {
        b.iter(|| {
            effective_user(
                black_box(&platform),
                black_box(&tenant),
                black_box(&user),
                Resolution::LowerWins,
            )
        });
    });
    c.bench_function("resolve tenant effective with origins (20 KB)", |b| {
        b.iter(|| {
            resolve_with_origins(&[
                (Scope::Platform, black_box(&platform)),
                (Scope::Tenant, black_box(&tenant)),
            ])
        });
    });
    let new_effective = effective_tenant(&changed_platform, &tenant);
    let (_, new_origins) = resolve_with_origins(&[
        (Scope::Platform, &changed_platform),
        (Scope::Tenant, &tenant),
    ]);
    let patch = diff(&effective, &new_effective);
    c.bench_function(
        "a change frame's origin entries: resolve with origins + for_patch (20 KB)",
        |b| {
            b.iter(|| {
                let (_, origins) = resolve_with_origins(&[
                    (Scope::Platform, black_box(&changed_platform)),
                    (Scope::Tenant, black_box(&tenant)),
                ]);
                origins.for_patch(black_box(&patch))
            });
        },
    );
    eprintln!(
        "origin map: {} entries; a change's entries: {}",
        new_origins.entries().len(),
        new_origins.for_patch(&patch).entries().len()
    );
    c.bench_function("diff two effective versions (20 KB)", |b| {
        b.iter(|| diff(black_box(&effective), black_box(&new_effective)));
    });
    c.bench_function("resolve + diff (20 KB)", |b| {
        b.iter(|| {
            let new = effective_tenant(black_box(&changed_platform), black_box(&tenant));
            diff(black_box(&effective), &new)
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
