#![deny(warnings)]
//! Spans on `async fn` in a trait impl (native), on a trait's default method, and on an
//! `#[async_trait]` method, whose `Box::pin(async move { .. })` body is instrumented inside.

use async_trait::async_trait;
use spanscope::{entry, local};

spanscope::tags! {
    pub shard: u32,
}

trait Store {
    async fn get(&self, key: u32) -> Option<u32>;

    #[local]
    fn name(&self) -> &'static str {
        "store"
    }
}

struct Memory(Vec<u32>);

impl Store for Memory {
    #[local(tags(shard = key % 4))]
    async fn get(&self, key: u32) -> Option<u32> {
        self.0.get(key as usize).copied()
    }
}

#[async_trait]
trait Service {
    async fn call(&self, input: u32) -> Result<u32, String>;
}

struct Doubler;

#[async_trait]
impl Service for Doubler {
    #[entry(name = "double", tags(shard = input % 4))]
    async fn call(&self, input: u32) -> Result<u32, String> {
        if input > 100 {
            return Err(format!("{input} is too large"));
        }
        Ok(input * 2)
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let store = Memory(vec![4, 5]);
    assert_eq!(rt.block_on(store.get(1)), Some(5));
    assert_eq!(store.name(), "store");
    assert_eq!(rt.block_on(Doubler.call(2)), Ok(4));
    assert!(rt.block_on(Doubler.call(200)).is_err());
}
