"""``webtext export``: a training checkpoint as a Hugging Face ``GPT2LMHeadModel`` folder."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("export", help="write a checkpoint as a Hugging Face GPT2LMHeadModel folder",
                       description="Write CKPT_DIR's model as OUT_DIR/config.json + model.safetensors, with the "
                                   "checkpoint's tokenizer files, so that transformers' "
                                   "GPT2LMHeadModel.from_pretrained(OUT_DIR) and AutoTokenizer load it "
                                   "(webtext train does this into CKPT_DIR/hf when it reaches --steps).")
    p.add_argument("ckpt", metavar="CKPT_DIR", help="folder holding ckpt.pt (or the file)")
    p.add_argument("out", metavar="OUT_DIR", help="folder to write (made if missing)")
    return p


def main(args) -> int:
    from corpus_tools.rundir import refuse_run_folder
    from pipelines.errors import UserError
    from training_bridge.export import export_hf

    refuse_run_folder(args.out, flag="OUT_DIR")
    try:
        print(export_hf(args.ckpt, args.out))
    except ValueError as e:  # no checkpoint there, or not one of ours (checkpoint.load_checkpoint)
        raise UserError(str(e)) from None
    return 0
