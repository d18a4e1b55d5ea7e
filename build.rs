//! Generates the formula parser from `grammar/formula.lalrpop` into OUT_DIR.

fn main() {
    println!("cargo:rerun-if-changed=grammar");
    lalrpop::Configuration::new()
        .set_in_dir("grammar")
        .process()
        .expect("grammar/formula.lalrpop must be a valid lalrpop grammar");
}
