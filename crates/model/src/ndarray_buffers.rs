//! Burn's NdArray tensors as plain `f32` buffers and back, for the CPU kernels
//! ([`crate::lstm_op`]'s and [`crate::adam`]'s): borrowed when the layout allows, copied only
//! when it does not.

use burn::prelude::*;
use burn::tensor::{TensorMetadata, TensorPrimitive};
use burn_ndarray::{NdArray, NdArrayTensor};
use ndarray::{ArcArray, IxDyn};

type Cpu = NdArray;

/// The tensor's values in whatever layout they have (a view of transposed or reversed axes
/// stays one), without a copy.
pub(crate) fn as_is<const D: usize>(tensor: Tensor<Cpu, D>) -> ArcArray<f32, IxDyn> {
    match tensor.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => storage.into_shared(),
        other => other_dtype(other),
    }
}

/// Borrows the tensor's values, row-major, copying only when it is not contiguous.
pub(crate) fn shared<const D: usize>(tensor: Tensor<Cpu, D>) -> ArcArray<f32, IxDyn> {
    let array = as_is(tensor);
    if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned().into_shared()
    }
}

/// Takes the tensor's values as a row-major buffer of its own: free when nothing else holds
/// them (as with a trace the backward pass consumes), a copy otherwise.
pub(crate) fn owned<const D: usize>(tensor: Tensor<Cpu, D>) -> Vec<f32> {
    match tensor.into_primitive().tensor() {
        NdArrayTensor::F32(storage) => {
            let array = storage.into_shared().into_owned();
            let len = array.len();
            if !array.is_standard_layout() {
                return array.iter().copied().collect();
            }
            match array.into_raw_vec_and_offset() {
                (values, None | Some(0)) if values.len() == len => values,
                // A view into a larger buffer: its own elements only.
                (values, offset) => {
                    let start = offset.unwrap_or(0);
                    values[start..start + len].to_vec()
                }
            }
        }
        other => other_dtype(other),
    }
}

pub(crate) fn slice(array: &ArcArray<f32, IxDyn>) -> &[f32] {
    array.as_slice().expect("shared() returns standard layouts")
}

pub(crate) fn other_dtype(tensor: NdArrayTensor) -> ! {
    unreachable!("NdArray's float tensors hold f32, not {:?}", tensor.dtype())
}

pub(crate) fn array<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> ArcArray<f32, IxDyn> {
    ArcArray::from_shape_vec(IxDyn(&shape), values).expect("buffer sizes follow the shapes")
}

pub(crate) fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<Cpu, D> {
    Tensor::from_primitive(TensorPrimitive::Float(NdArrayTensor::from(array(
        values, shape,
    ))))
}
