//! `pool.vm`: cores from the bundled catalog of VM sizes by name, prices
//! from the table or a prices file, and errors that say what to write.

use std::path::Path;

use autoscale_sim::scenario::Scenario;

use crate::support::scratch_dir;

fn load(vm: &str, base: &Path) -> Result<Scenario, String> {
    let text = format!("duration = \"1h\"\n[pool]\n{vm}\ntarget_dedicated = 1\n");
    Scenario::from_toml(&text, "s.toml", "s", base).map_err(|e| e.to_string())
}

fn vm(scenario: &Scenario) -> (String, u32, f64, f64) {
    let vm = &scenario.pool().vm;
    (vm.name.clone(), vm.cores, vm.dedicated_price, vm.low_priority_price)
}

#[test]
fn a_known_size_gives_its_cores_and_a_prices_file_its_prices() {
    let dir = scratch_dir("vm-sizes");
    let by_name = load("vm = { name = \"Standard_D4s_v3\", dedicated_price = 0.192 }", &dir).unwrap();
    assert_eq!(vm(&by_name), ("Standard_D4s_v3".to_owned(), 4, 0.192, 0.0));
    let own = load("vm = { name = \"Standard_D4s_v3\", cores = 3, dedicated_price = 0.1 }", &dir).unwrap();
    assert_eq!(vm(&own).1, 3, "cores given win over the catalog's");

    std::fs::write(dir.join("prices.toml"), "[Standard_F8s_v2]\ndedicated = 0.338\nlow_priority = 0.0676\n").unwrap();
    let priced = load("vm = \"standard_f8s_v2\"\nprices = \"prices.toml\"", &dir).unwrap();
    assert_eq!(vm(&priced), ("standard_f8s_v2".to_owned(), 8, 0.338, 0.0676));
    let overridden =
        load("vm = { name = \"Standard_F8s_v2\", low_priority_price = 0.05 }\nprices = \"prices.toml\"", &dir).unwrap();
    assert_eq!((vm(&overridden).2, vm(&overridden).3), (0.338, 0.05), "the table's prices win over the file's");
}

#[test]
fn vm_mistakes_say_what_to_write() {
    let dir = scratch_dir("vm-sizes-errors");
    let error = |vm: &str| load(vm, &dir).unwrap_err();
    assert_eq!(
        error("vm = \"Standard_D4s_v3\""),
        "s.toml: pool.vm.dedicated_price: the VM's price per hour is needed: add `dedicated_price = …` to vm, \
         or list the size in `pool.prices`"
    );
    assert!(
        error("vm = { name = \"Standard_D4sv3\", dedicated_price = 1 }")
            .starts_with("s.toml:3: pool.vm.name: `Standard_D4sv3` is not a VM size this simulator knows (closest: "),
    );
    assert_eq!(
        error("vm = { dedicated_price = 1 }"),
        "s.toml:3: pool.vm: give the VM's cores (`cores = 2`) or a known size's `name`"
    );
    let unknown_key = error("vm = { cores = 2, dedicated_prize = 1 }");
    assert!(
        unknown_key.contains("pool.vm.dedicated_prize: unknown key `dedicated_prize`; did you mean `dedicated_price`?"),
        "{unknown_key}"
    );
    let missing = error("vm = \"Standard_D4s_v3\"\nprices = \"nope.toml\"");
    assert!(missing.starts_with("s.toml:4: pool.prices: cannot read"), "{missing}");
}
