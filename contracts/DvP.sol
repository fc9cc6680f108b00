// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
// For the `mint(address,uint256)` signature only: any token with it can be issued through here.
import {MintableToken} from "./MintableToken.sol";

/// Delivery versus payment: in one transaction the buyer's stablecoins go to the cash receiver
/// (from the buyer's allowance to this contract) and the security tokens go to the buyer,
/// minted (seller = 0, primary issuance) or taken from the seller's allowance (secondary
/// trade). Either both legs move or neither does. Each settlement id settles at most once,
/// so a settlement sent twice (a retry, a second signer) cannot move anything twice.
contract DvP is AccessControl {
    using SafeERC20 for IERC20;

    /// hookrail's signers: only they may settle.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    mapping(bytes32 => bool) public settled;

    error AlreadySettled(bytes32 settlementId);
    error ZeroAmount();

    /// The payment leg: `amount` of `token` from the buyer to the cash receiver.
    event CashLeg(bytes32 indexed settlementId, address indexed token, address indexed buyer, address receiver, uint256 amount);
    /// The delivery leg: `amount` of `token` to the buyer, from `seller` (zero address: minted).
    event DeliveryLeg(bytes32 indexed settlementId, address indexed token, address indexed buyer, address seller, uint256 amount);

    constructor(address admin, address[] memory operators) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < operators.length; ++i) {
            _grantRole(OPERATOR_ROLE, operators[i]);
        }
    }

    function settle(
        bytes32 settlementId,
        address buyer,
        IERC20 cashToken,
        uint256 cashAmount,
        address cashReceiver,
        address securityToken,
        uint256 tokenAmount,
        address seller
    ) external onlyRole(OPERATOR_ROLE) {
        if (settled[settlementId]) revert AlreadySettled(settlementId);
        if (cashAmount == 0 || tokenAmount == 0) revert ZeroAmount();
        // Marked before the external calls: a token calling back cannot settle it again.
        settled[settlementId] = true;
        cashToken.safeTransferFrom(buyer, cashReceiver, cashAmount);
        if (seller == address(0)) {
            MintableToken(securityToken).mint(buyer, tokenAmount);
        } else {
            IERC20(securityToken).safeTransferFrom(seller, buyer, tokenAmount);
        }
        emit CashLeg(settlementId, address(cashToken), buyer, cashReceiver, cashAmount);
        emit DeliveryLeg(settlementId, securityToken, buyer, seller, tokenAmount);
    }
}
