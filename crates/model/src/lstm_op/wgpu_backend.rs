//! The LSTM op on wgpu: the default methods, in tensor operations.

use super::LstmBackend;

impl LstmBackend for burn_wgpu::Wgpu {}
