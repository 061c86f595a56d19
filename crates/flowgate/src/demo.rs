#[derive(clap::Args, Debug)]
pub struct DemoArgs {}
pub fn run(_a: DemoArgs) -> anyhow::Result<()> {
    Ok(())
}
