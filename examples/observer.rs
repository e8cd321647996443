//! Watching a run as it trains and stopping it from another thread, with checkpoints written
//! where you choose (or nowhere: leave out `with_artifact_dir`).
//!
//! Run: `cargo run -p app --example observer`.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Result;
use app::{EpochRecord, RunConfig, StopHandle, Training, TrainingConfig, TrainingObserver};
use burn_autodiff::Autodiff;
use burn_ndarray::NdArray;

/// Sends each epoch's record to the main thread.
struct Channel(mpsc::Sender<EpochRecord>);

impl TrainingObserver for Channel {
    fn epoch_completed(&mut self, record: &EpochRecord, _epochs: usize) {
        let _ = self.0.send(record.clone());
    }
}

fn main() -> Result<()> {
    let config = RunConfig::tutorial().with_training(TrainingConfig::new().with_epochs(100_000));
    let (epochs, received) = mpsc::channel();
    let stop = StopHandle::new();
    let checkpoints = std::env::temp_dir().join("lstm-observer-example");
    let training = Training::new(config)
        .with_artifact_dir(&checkpoints)
        .with_observer(Channel(epochs))
        .with_stop_handle(stop.clone());
    let worker = std::thread::spawn(move || training.run::<Autodiff<NdArray>>(&Default::default()));

    // Stop once the loss is below 1e-3, or after 30 seconds.
    while let Ok(record) = received.recv_timeout(Duration::from_secs(30)) {
        println!("epoch {:>5}  loss {:.3e}", record.epoch, record.loss);
        if record.loss < 1e-3 {
            break;
        }
    }
    stop.stop();
    let run = worker.join().expect("the training thread does not panic")?;
    println!(
        "stopped ({:?}) after {} epochs; the model of epoch {} is saved in {}",
        run.report.stop,
        run.report.history.len(),
        run.report.model_epoch,
        checkpoints.display()
    );
    Ok(())
}
