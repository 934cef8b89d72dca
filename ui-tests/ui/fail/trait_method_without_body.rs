use spanscope::local;

trait Store {
    #[local]
    fn get(&self, key: u32) -> Option<u32>;
}

fn main() {}
