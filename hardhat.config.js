// Hardhat 2 as the local testnet only (`rcm testnet start`); contracts compile through solc-js
// from Python. The node uses Hardhat's public test mnemonic: TEST-ONLY keys.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      blockGasLimit: 60_000_000,
      mining: { auto: true },
    },
  },
};
