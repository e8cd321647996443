//! The one file format of weights and checkpoints: Burn's named MessagePack at full precision,
//! written atomically.

use std::path::PathBuf;

use burn::prelude::Backend;
use burn::record::{
    FileRecorder, FullPrecisionSettings, NamedMpkFileRecorder, Recorder, RecorderError,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Burn's `NamedMpkFileRecorder` at full precision (the default compact recorder stores f16,
/// which changes the reloaded MSE), writing each file under a temporary name in the same
/// directory and renaming it into place, so that a run stopped mid-write never leaves a truncated
/// file under the real name. Used for `model.mpk` and for Burn's per-epoch checkpoints.
#[derive(Clone, Debug, Default)]
pub struct ModelRecorder(NamedMpkFileRecorder<FullPrecisionSettings>);

impl ModelRecorder {
    /// A recorder.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<B: Backend> Recorder<B> for ModelRecorder {
    type Settings = FullPrecisionSettings;
    type RecordArgs = PathBuf;
    type RecordOutput = ();
    type LoadArgs = PathBuf;

    fn save_item<I: Serialize>(&self, item: I, file: PathBuf) -> Result<(), RecorderError> {
        let target = file.with_extension(<Self as FileRecorder<B>>::file_extension());
        let name = target
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The inner recorder sets the extension itself: `.model-3.mpk.partial` is written as
        // `.model-3.mpk.mpk`.
        let partial = target
            .with_file_name(format!(".{name}.partial"))
            .with_extension(<Self as FileRecorder<B>>::file_extension());
        Recorder::<B>::save_item(&self.0, item, partial.clone())?;
        std::fs::rename(&partial, &target).map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            RecorderError::Unknown(format!(
                "cannot move {} to {}: {error}",
                partial.display(),
                target.display()
            ))
        })
    }

    fn load_item<I: DeserializeOwned>(&self, file: &mut PathBuf) -> Result<I, RecorderError> {
        Recorder::<B>::load_item(&self.0, file)
    }
}

impl<B: Backend> FileRecorder<B> for ModelRecorder {
    fn file_extension() -> &'static str {
        "mpk"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn_ndarray::NdArray;
    use model::RecurrentRegressorConfig;

    #[test]
    fn saves_in_place_of_the_target_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let device = Default::default();
        let model = RecurrentRegressorConfig::new()
            .with_hidden(3)
            .init::<NdArray>(&device);
        model
            .clone()
            .save_file(dir.path().join("model-1"), &ModelRecorder::new())
            .expect("writable");
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .expect("listable")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["model-1.mpk"]);
        let loaded = RecurrentRegressorConfig::new()
            .with_hidden(3)
            .init::<NdArray>(&device)
            .load_file(
                dir.path().join("model-1.mpk"),
                &ModelRecorder::new(),
                &device,
            )
            .expect("readable");
        let input = burn::tensor::Tensor::<NdArray, 3>::ones([2, 4, 1], &device);
        assert_eq!(
            loaded.forward(input.clone()).into_data(),
            model.forward(input).into_data()
        );
    }
}
