// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// Pays many recipients from the caller's allowance in one transaction (dividend payouts):
/// one nonce and one receipt per batch instead of one per investor. All or nothing.
contract BatchTransfer {
    using SafeERC20 for IERC20;

    error LengthMismatch(uint256 recipients, uint256 amounts);

    function batchTransferFrom(IERC20 token, address[] calldata recipients, uint256[] calldata amounts) external {
        if (recipients.length != amounts.length) revert LengthMismatch(recipients.length, amounts.length);
        for (uint256 i = 0; i < recipients.length; i++) {
            token.safeTransferFrom(msg.sender, recipients[i], amounts[i]);
        }
    }
}
