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
    /// NVIDIA GPU through CUDA, in a build with the `cuda` cargo feature. Building needs no CUDA
    /// toolkit; running needs the NVIDIA driver and NVRTC (CUDA's run-time compiler), both loaded
    /// when the backend starts.
    Cuda,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ndarray => "ndarray",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
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
        BackendKind::Cuda => run_on_cuda(job),
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

#[cfg(feature = "cuda")]
fn run_on_cuda<J: BackendJob>(job: J) -> Result<J::Output> {
    use burn_cuda::{Cuda, CudaDevice};
    cuda::ensure_device()?;
    job.run::<Autodiff<Cuda>>(CudaDevice::default())
}

#[cfg(not(feature = "cuda"))]
fn run_on_cuda<J: BackendJob>(_job: J) -> Result<J::Output> {
    Err(crate::Error::BackendNotBuilt {
        backend: BackendKind::Cuda,
    })
}

/// The name of the device backend `kind` runs on: the CPU's model, wgpu's adapter, or the first
/// CUDA device.
pub fn device_name(kind: BackendKind) -> Result<String> {
    match kind {
        BackendKind::Ndarray => Ok(cpu_name()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => Ok(gpu::ensure_adapter()?.name),
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => cuda::ensure_device(),
        #[allow(unreachable_patterns)]
        backend => Err(crate::Error::BackendNotBuilt { backend }),
    }
}

/// The CPU's model name from `/proc/cpuinfo` (Linux), or the architecture elsewhere.
fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        });
    model.unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// Checks that the buffers of `config` fit the adapter of backend `kind`: the largest one
/// (the gates of every step of a batch, or a recurrent kernel; see
/// [`MemoryEstimate::largest_buffer`](crate::memory::MemoryEstimate::largest_buffer)) against
/// wgpu's `max_storage_buffer_binding_size` and `max_buffer_size`, which Burn would otherwise
/// meet with a panic; on CUDA, that the driver and NVRTC load. Nothing to check on ndarray.
/// wgpu does not report a device's total memory, so that is not checked.
pub fn check_device_limits(kind: BackendKind, config: &RunConfig) -> Result<()> {
    match kind {
        BackendKind::Ndarray => Ok(()),
        #[cfg(feature = "wgpu")]
        BackendKind::Wgpu => gpu::ensure_adapter()?.check(config),
        #[cfg(not(feature = "wgpu"))]
        BackendKind::Wgpu => Err(crate::Error::BackendNotBuilt {
            backend: BackendKind::Wgpu,
        }),
        // CUDA has no per-buffer binding limit like wgpu's, but the driver and NVRTC must load.
        #[cfg(feature = "cuda")]
        BackendKind::Cuda => cuda::ensure_device().map(|_| ()),
        #[cfg(not(feature = "cuda"))]
        BackendKind::Cuda => Err(crate::Error::BackendNotBuilt {
            backend: BackendKind::Cuda,
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
        pub name: String,
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

#[cfg(feature = "cuda")]
mod cuda {
    use std::panic::UnwindSafe;

    use crate::error::{Error, Result};

    /// Loads the NVIDIA driver and NVRTC as Burn's CUDA backend will when it starts, compiles an
    /// empty kernel, and returns the first device's name. cudarc panics when a library does not
    /// load, and Burn unwraps the driver's errors in its device thread; asked here first, either
    /// becomes an error naming what is missing. Probed once per process (a command checks
    /// before it prints, then runs): later calls return the first answer.
    pub fn ensure_device() -> Result<String> {
        static PROBE: std::sync::OnceLock<std::result::Result<String, String>> =
            std::sync::OnceLock::new();
        PROBE
            .get_or_init(probe)
            .clone()
            .map_err(|reason| Error::NoCudaDevice { reason })
    }

    /// The device's name, or what is missing.
    fn probe() -> std::result::Result<String, String> {
        let name = match quietly(first_device_name) {
            Err(_) => return Err("the NVIDIA driver (libcuda.so) could not be loaded".to_string()),
            Ok(Err(error)) => return Err(format!("the NVIDIA driver failed: {error}")),
            Ok(Ok(None)) => return Err("the NVIDIA driver sees no CUDA device".to_string()),
            Ok(Ok(Some(name))) => name,
        };
        match quietly(|| cudarc::nvrtc::compile_ptx("extern \"C\" __global__ void probe() {}")) {
            Err(_) => Err(
                "NVRTC, CUDA's run-time compiler (libnvrtc.so), could not be loaded; it comes \
                 with the CUDA toolkit (or pip's nvidia-cuda-nvrtc, on LD_LIBRARY_PATH)"
                    .to_string(),
            ),
            Ok(Err(error)) => Err(format!("NVRTC could not compile a kernel: {error:?}")),
            Ok(Ok(_)) => Ok(name),
        }
    }

    fn first_device_name() -> std::result::Result<Option<String>, cudarc::driver::DriverError> {
        use cudarc::driver::result::{device, init};
        init()?;
        if device::get_count()? == 0 {
            return Ok(None);
        }
        device::get_name(device::get(0)?).map(Some)
    }

    /// Runs `probe`, catching a panic without printing it (the default hook would print the
    /// library's message and a backtrace hint before our error).
    fn quietly<T>(probe: impl FnOnce() -> T + UnwindSafe) -> std::thread::Result<T> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let result = std::panic::catch_unwind(probe);
        std::panic::set_hook(hook);
        result
    }
}
