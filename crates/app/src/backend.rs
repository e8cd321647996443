//! The one place that names concrete backends. Every command is written once, generic over
//! `B: TrainingBackend`, as a [`BackendJob`]; [`run_on`] picks the backend from the command line.

use anyhow::Result;
use burn_autodiff::Autodiff;
use burn_ndarray::{NdArray, NdArrayDevice};
use model::TrainingBackend;

use crate::cli::BackendKind;

/// Work that can run on any training backend.
pub trait BackendJob {
    /// What the work returns.
    type Output;

    /// Runs the work on backend `B` and its `device`.
    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Runs `job` on the backend the user chose.
pub fn run_on<J: BackendJob>(kind: BackendKind, job: J) -> Result<J::Output> {
    match kind {
        BackendKind::Ndarray => job.run::<Autodiff<NdArray>>(NdArrayDevice::Cpu),
        BackendKind::Wgpu => run_on_wgpu(job),
    }
}

#[cfg(feature = "wgpu")]
fn run_on_wgpu<J: BackendJob>(job: J) -> Result<J::Output> {
    use burn_wgpu::{Wgpu, WgpuDevice};
    gpu::ensure_adapter()?;
    job.run::<Autodiff<Wgpu>>(WgpuDevice::default())
}

#[cfg(not(feature = "wgpu"))]
fn run_on_wgpu<J: BackendJob>(_job: J) -> Result<J::Output> {
    anyhow::bail!(
        "this build of app has no wgpu backend (built with --no-default-features); \
         rebuild with the default features or use --backend ndarray"
    )
}

#[cfg(feature = "wgpu")]
mod gpu {
    use anyhow::{bail, Result};
    use burn_wgpu::graphics::{AutoGraphicsApi, GraphicsApi};

    /// Asks wgpu for the adapter Burn's default device will ask for, so that a machine without
    /// a driver gets an explanation instead of Burn's panic in its device thread.
    pub fn ensure_adapter() -> Result<()> {
        let backend = AutoGraphicsApi::backend();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: backend.into(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let request = instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        });
        match futures_lite::future::block_on(request) {
            Ok(_) => Ok(()),
            Err(_) => bail!(
                "--backend wgpu found no {backend:?} adapter: install a GPU driver, or Mesa's \
                 software Vulkan driver to run on the CPU (Debian/Ubuntu: \
                 apt-get install mesa-vulkan-drivers), or use --backend ndarray"
            ),
        }
    }
}
