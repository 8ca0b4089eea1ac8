package io.easycontext.runtime.optim.zero;

import io.easycontext.runtime.backend.Backend;
import io.easycontext.runtime.optim.AdamW;
import io.easycontext.runtime.tensor.Tensor;

import java.util.List;

/**
 * {@link OffloadMode#GPU_STREAM}: the state streams through the device. Per chunk, master weights and moments go up
 * into a device staging slot, the backend's AdamW updates the chunk's pieces there (the values and gradients never
 * leave the device), and the state comes back down; with {@link #RING} slots the next chunk's upload and the previous
 * chunk's download run while this chunk is updated.
 */
final class StreamOffloadState extends OffloadState {

    private final Tensor[] stageMaster;
    private final Tensor[] stageM;
    private final Tensor[] stageV;
    private final HostTransfers.Fence[] uploaded;
    private final HostTransfers.Fence[] updated;
    private final HostTransfers.Fence[] freed;

    StreamOffloadState(Backend backend, ShardValues valueShard, Tensor gradShard, List<ShardPiece> pieces,
                       AdamW.Hyper hyper, int chunkElements) {
        super(backend, valueShard, gradShard, pieces, hyper, chunkElements);
        stageMaster = master == null ? null : stagingTensors(backend.statsType());
        // The moments' staging has their type (BF16 halves the bytes each chunk moves each way); the master's is fp32.
        stageM = stagingTensors(momentsType);
        stageV = stagingTensors(momentsType);
        uploaded = fences();
        updated = fences();
        freed = fences();
    }

    @Override
    public void update(double lr, long step, double gradScale) {
        for (int c = 0; c < chunks.size(); c++) {
            int k = c % RING;
            Chunk chunk = chunks.get(c);
            // The slot's previous chunk must be down before this one overwrites it; so must this chunk's state of the
            // last step, which went down earlier on the same lane.
            freed[k].await(HostTransfers.Lane.UPLOAD);
            transfers.upload(m, chunk.from(), stage(stageM[k], chunk));
            transfers.upload(v, chunk.from(), stage(stageV[k], chunk));
            if (master != null) {
                transfers.upload(master, chunk.from(), stage(stageMaster[k], chunk));
            }
            uploaded[k].record(HostTransfers.Lane.UPLOAD);
            uploaded[k].await(HostTransfers.Lane.COMPUTE);
            for (ShardPiece p : chunk.pieces()) {
                backend.adamW(valueView(p), master == null ? null : piece(stageMaster[k], chunk, p), gradView(p),
                        piece(stageM[k], chunk, p), piece(stageV[k], chunk, p), lr, hyper.beta1(), hyper.beta2(),
                        hyper.eps(), p.weightDecay(hyper), step, gradScale);
            }
            updated[k].record(HostTransfers.Lane.COMPUTE);
            updated[k].await(HostTransfers.Lane.DOWNLOAD);
            transfers.download(stage(stageM[k], chunk), m, chunk.from());
            transfers.download(stage(stageV[k], chunk), v, chunk.from());
            if (master != null) {
                transfers.download(stage(stageMaster[k], chunk), master, chunk.from());
            }
            freed[k].record(HostTransfers.Lane.DOWNLOAD);
        }
    }

    /** The staging slot's first {@code chunk.length()} elements. */
    private Tensor stage(Tensor slot, Chunk chunk) {
        return backend.view(slot, 0, chunk.length());
    }

    /** Where piece {@code p} of the chunk sits in the staging slot. */
    private Tensor piece(Tensor slot, Chunk chunk, ShardPiece p) {
        return backend.view(slot, p.offset() - chunk.from(), p.length());
    }

    @Override
    void closeStaging() {
        for (int k = 0; k < RING; k++) {
            if (stageMaster != null) {
                stageMaster[k].close();
            }
            stageM[k].close();
            stageV[k].close();
            uploaded[k].close();
            updated[k].close();
            freed[k].close();
        }
    }
}
