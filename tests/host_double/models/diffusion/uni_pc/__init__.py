"""Mirror of modules/models/diffusion/uni_pc (A1111 v1.10.1; Forge's copy is identical)."""
