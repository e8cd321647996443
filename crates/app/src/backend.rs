//! The one place that names concrete backends. Library code is generic over
//! `B: TrainingBackend`; a program that picks the backend at run time (the command line) writes
//! its work once as a [`BackendJob`] and [`run_on`] runs it on the [`BackendKind`] chosen.

use std::fmt;

use burn_autodiff::Autodiff;
use burn_ndarray::{NdArray, NdArrayDevice};
use model::TrainingBackend;
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Where tensors are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// CPU, through the ndarray crate (always available).
    #[default]
    Ndarray,
    /// GPU through wgpu (Vulkan, Metal or DirectX); on a machine without a GPU, Mesa's software
    /// Vulkan driver (lavapipe) runs it on the CPU.
    Wgpu,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
        })
    }
}

/// Work that can run on any training backend.
pub trait BackendJob {
    /// What the work returns.
    type Output;

    /// Runs the work on backend `B` and its `device`.
    fn run<B: TrainingBackend>(self, device: B::Device) -> Result<Self::Output>;
}

/// Runs `job` on the backend `kind`, on its default device.
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
    Err(crate::Error::BackendNotBuilt {
        backend: BackendKind::Wgpu,
    })
}

/// Whether wgpu finds the adapter its default device asks for (a GPU driver, or Mesa's software
/// Vulkan driver). Burn panics in its device thread when there is none; call this first.
pub fn wgpu_adapter_available() -> Result<()> {
    #[cfg(feature = "wgpu")]
    return gpu::ensure_adapter();
    #[cfg(not(feature = "wgpu"))]
    Err(crate::Error::BackendNotBuilt {
        backend: BackendKind::Wgpu,
    })
}

#[cfg(feature = "wgpu")]
mod gpu {
    use burn_wgpu::graphics::{AutoGraphicsApi, GraphicsApi};

    use super::BackendKind;
    use crate::error::{Error, Result};

    /// Asks wgpu for the adapter Burn's default device will ask for.
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
            Err(_) => Err(Error::NoAdapter {
                backend: BackendKind::Wgpu,
                api: format!("{backend:?}"),
            }),
        }
    }
}
