#![deny(warnings)]
//! `#[local]` on methods (`self`, `&self`, `&mut self` returning a borrow), generics, `impl Trait`
//! arguments and returns, `Result` with `?` and early `return`, panics, and `-> !`.

use std::fmt::Display;

use spanscope::local;

spanscope::tags! {
    pub tenant: String,
    pub size: u64,
}

#[derive(Default)]
struct Cart {
    items: Vec<u64>,
}

impl Cart {
    #[local]
    fn slot(&mut self, index: usize) -> &mut u64 {
        &mut self.items[index]
    }

    #[local(name = "cart.first", tags(size = self.items.len() as u64))]
    fn first(&self) -> Option<&u64> {
        self.items.first()
    }

    #[local]
    async fn last_mut(&mut self) -> Option<&mut u64> {
        self.items.last_mut()
    }

    #[local]
    fn into_items(self) -> Vec<u64> {
        self.items
    }
}

#[local]
fn largest<T: PartialOrd + Copy>(values: &[T]) -> Option<T> {
    let mut best = *values.first()?;
    for &value in values {
        if value > best {
            best = value;
        }
    }
    Some(best)
}

#[local(tags(tenant = label.to_string()))]
fn describe(label: impl Display, n: u32) -> impl Display {
    format!("{label}: {n}")
}

#[local]
fn evens(limit: u32) -> impl Iterator<Item = u32> {
    (0..limit).filter(|n| n % 2 == 0)
}

#[local]
fn parse_sum(input: &str) -> Result<u32, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let mut sum = 0;
    for part in input.split(',') {
        sum += part.trim().parse::<u32>()?;
    }
    Ok(sum)
}

#[local]
fn boom(fail: bool) -> u8 {
    if fail {
        panic!("boom");
    }
    7
}

#[local]
async fn generic_async<T: Display + Send>(value: T) -> String {
    value.to_string()
}

#[local]
fn forever(code: i32) -> ! {
    std::process::exit(code)
}

#[local]
async fn serve_forever(code: i32) -> ! {
    tokio::task::yield_now().await;
    std::process::exit(code)
}

fn main() {
    let mut cart = Cart { items: vec![1, 2, 3] };
    *cart.slot(0) += 10;
    assert_eq!(cart.first(), Some(&11));
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    if let Some(last) = rt.block_on(cart.last_mut()) {
        *last = 30;
    }
    assert_eq!(cart.into_items(), vec![11, 2, 30]);
    assert_eq!(largest(&[3, 9, 4]), Some(9));
    assert_eq!(largest::<u8>(&[]), None);
    assert_eq!(describe("n", 3).to_string(), "n: 3");
    assert_eq!(evens(5).collect::<Vec<_>>(), vec![0, 2, 4]);
    assert_eq!(parse_sum("1, 2,3"), Ok(6));
    assert_eq!(parse_sum(""), Ok(0));
    assert!(parse_sum("x").is_err());
    assert_eq!(boom(false), 7);
    std::panic::set_hook(Box::new(|_| {}));
    assert!(std::panic::catch_unwind(|| boom(true)).is_err());
    let _ = std::panic::take_hook();
    assert_eq!(rt.block_on(generic_async(5)), "5");
    if std::env::args().count() > 99 {
        forever(1);
    }
    rt.block_on(serve_forever(0))
}
