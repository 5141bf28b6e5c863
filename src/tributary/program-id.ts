/** The Tributary program on Solana mainnet; both sources default to it. */
export const TRIBUTARY_PROGRAM_ID = "TRibg8W8zmPHQqWtyAD1rEBRXEdyU13Mu6qX1Sg42tJ";
