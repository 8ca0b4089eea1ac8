package io.easycontext.runtime.comm;

import io.easycontext.runtime.tensor.Tensor;

/**
 * One half of a point-to-point transfer inside {@link Communicator#sendRecv}: send {@code tensor} to, or receive it
 * from, group rank {@code peer}. Transfers between the same two ranks are matched in the order they are listed, as
 * NCCL matches the sends and receives of a group.
 */
public record P2POp(Kind kind, Tensor tensor, int peer) {

    public enum Kind { SEND, RECV }

    public static P2POp send(Tensor tensor, int peer) {
        return new P2POp(Kind.SEND, tensor, peer);
    }

    public static P2POp recv(Tensor tensor, int peer) {
        return new P2POp(Kind.RECV, tensor, peer);
    }
}
