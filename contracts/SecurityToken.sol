// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// A tokenized security: 18 decimals, supply created only by holders of MINTER_ROLE
/// (the hookrail signers mint when orders are paid). `batchMint` is the ERC-3643 / T-REX
/// signature, so hookrail mints many paid orders in one transaction. An admin can freeze an
/// address (ERC-3643's freeze): it can neither receive nor send.
contract SecurityToken is ERC20, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    mapping(address => bool) public isFrozen;

    error AddressFrozen(address account);
    error LengthMismatch(uint256 recipients, uint256 amounts);

    event AddressFrozenSet(address indexed account, bool frozen);

    /// `admin` may grant roles and freeze addresses; every address in `minters` may mint
    /// (hookrail's signers: each one must hold MINTER_ROLE).
    constructor(string memory name_, string memory symbol_, address admin, address[] memory minters) ERC20(name_, symbol_) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < minters.length; ++i) {
            _grantRole(MINTER_ROLE, minters[i]);
        }
    }

    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    function batchMint(address[] calldata to, uint256[] calldata amounts) external onlyRole(MINTER_ROLE) {
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        for (uint256 i = 0; i < to.length; ++i) {
            _mint(to[i], amounts[i]);
        }
    }

    function setAddressFrozen(address account, bool frozen) external onlyRole(DEFAULT_ADMIN_ROLE) {
        isFrozen[account] = frozen;
        emit AddressFrozenSet(account, frozen);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (isFrozen[to]) revert AddressFrozen(to);
        if (from != address(0) && isFrozen[from]) revert AddressFrozen(from);
        super._update(from, to, value);
    }
}
