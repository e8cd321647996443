//! The one place that names concrete backends. Library code is generic over
//! `B: TrainingBackend`; a program that picks the backend at run time (the command line) writes
//! its work once as a [`BackendJob`] and [`run_on`] runs it on the [`BackendKind`] chosen.

use std::fmt;

use burn_autodiff::Autodiff;
use burn_ndarray::{NdArray, NdArrayDevice};
use model::TrainingBackend;
use serde::{Deserialize, Serialize};

use crate::config::RunConfig;
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

    /// The run the work trains or opens, if any: [`run_on`] checks its buffers against a GPU
    /// adapter's limits before the work starts.
    fn run_config(&self) -> Option<&RunConfig> {
        None
    }
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
    let adapter = gpu::ensure_adapter()?;
    if let Some(config) = job.run_config() {
        adapter.check(config)?;
    }
    job.run::<Autodiff<Wgpu>>(WgpuDevice::default())
}

#[cfg(not(feature = "wgpu"))]
fn run_on_wgpu<J: BackendJob>(_job: J) -> Result<J::Output> {
    Err(crate::Error::BackendNotBuilt {
        backend: BackendKind::Wgpu,
    })
}

/// Checks that the buffers of `config` fit the adapter of backend `kind`: the largest one
/// (the gates of every step of a batch, or a recurrent kernel; see
/// [`MemoryEstimate::largest_buffer`](crate::memory::MemoryEstimate::largest_buffer)) against
/// wgpu's `max_storage_buffer_binding_size` and `max_buffer_size`, which Burn would otherwise
/// meet with a panic. Nothing to check on ndarray. wgpu does not report a device's total memory,
/// so that is not checked.
pub fn check_device_limits(kind: BackendKind, config: &RunConfig) -> Result<()> {
    match kind {
        BackendKind::Ndarray => Ok(()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => gpu::ensure_adapter()?.check(config),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => Err(crate::Error::BackendNotBuilt {
            backend: BackendKind::Wgpu,
        }),
    }
}

/// Whether wgpu finds the adapter its default device asks for (a GPU driver, or Mesa's software
/// Vulkan driver). Burn panics in its device thread when there is none; call this first.
pub fn wgpu_adapter_available() -> Result<()> {
    #[cfg(feature = "wgpu")]
    return gpu::ensure_adapter().map(|_| ());
    #[cfg(not(feature = "wgpu"))]
    Err(crate::Error::BackendNotBuilt {
        backend: BackendKind::Wgpu,
    })
}

#[cfg(feature = "wgpu")]
mod gpu {
    use burn_wgpu::graphics::{AutoGraphicsApi, GraphicsApi};

    use super::BackendKind;
    use crate::config::RunConfig;
    use crate::error::{Error, Result};
    use crate::memory::{largest_below, MemoryEstimate, MemoryUse};

    /// The adapter's name and the limits that bound one buffer: Burn's wgpu device asks for the
    /// adapter's own limits, so these are the device's.
    pub struct Adapter {
        name: String,
        max_storage_buffer_binding_size: u64,
        max_buffer_size: u64,
    }

    impl Adapter {
        /// Refuses a run whose largest buffer exceeds either limit, naming a batch size that
        /// fits.
        pub fn check(&self, config: &RunConfig) -> Result<()> {
            let (limit_name, limit) =
                match self.max_buffer_size < self.max_storage_buffer_binding_size {
                    true => ("max_buffer_size", self.max_buffer_size),
                    false => (
                        "max_storage_buffer_binding_size",
                        self.max_storage_buffer_binding_size,
                    ),
                };
            let largest = |batch_size: usize| {
                let mut config = config.clone();
                config.training.batch_size = batch_size;
                MemoryEstimate::new(&config, MemoryUse::Training, 0).largest_buffer
            };
            let batch_size = config.training.batch_size;
            let bytes = largest(batch_size);
            if bytes <= limit {
                return Ok(());
            }
            let fits = largest_below(batch_size, |batch_size| largest(batch_size) <= limit);
            Err(Error::BufferTooLarge {
                adapter: self.name.clone(),
                bytes,
                limit_name,
                limit,
                batch_size,
                fits,
            })
        }
    }

    /// Asks wgpu for the adapter Burn's default device will ask for.
    pub fn ensure_adapter() -> Result<Adapter> {
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
            Ok(adapter) => {
                let limits = adapter.limits();
                Ok(Adapter {
                    name: adapter.get_info().name,
                    max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
                    max_buffer_size: limits.max_buffer_size,
                })
            }
            Err(_) => Err(Error::NoAdapter {
                backend: BackendKind::Wgpu,
                api: format!("{backend:?}"),
            }),
        }
    }
}
