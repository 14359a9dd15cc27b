//! A WASI command component: it exports `wasi:cli/run`, not a logpipe world, so
//! the host must refuse to load it with a clear message.

fn main() {
    println!("I am not a logpipe plugin");
}
