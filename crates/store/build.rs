//! `sqlx::migrate!` embeds the files it finds at compile time but only tells
//! Cargo about those (via `include_str!`): a new migration file would go
//! unnoticed until something else changed. Watching the directory fixes that.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
