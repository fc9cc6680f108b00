// Dev-only: the examples the simulator sends and the tests use; no production process loads src/dev.

/** The example payloads exactly as the seed documents print them. */
export const SEED = {
  bakktActive: `{
  "requestId": "3f2b3e62-f26c-442d-8d4b-d029d5e9de50",
  "partnerPartyRef": "ABCDEFG123",
  "partnerWebhookType": "PARTY_EVENT",
  "created": "2023-07-14T17:26:42.53873Z",
  "partyStatus": "ACTIVE",
  "reasonCode": "ENROLLMENT",
  "verificationURL": "",
  "verificationURLExpiry": ""
}`,
  bakktFailedKyc: `{
  "requestId": "3f2b3e62-f26c-442d-8d4b-d029d5e9de50",
  "partnerPartyRef": "ABCDEFG123",
  "partnerWebhookType": "PARTY_EVENT",
  "created": "2023-07-14T17:26:42.53873Z",
  "partyStatus": "INACTIVE",
  "reasonCode": "RISK_KYC",
  "verificationURL": "",
  "verificationURLExpiry": ""
}`,
  bakktDocVerification: `{
  "requestId": "3f2b3e62-f26c-442d-8d4b-d029d5e9de50",
  "partnerPartyRef": "ABCDEFG123",
  "partnerWebhookType": "PARTY_EVENT",
  "created": "2023-07-14T17:26:42.53873Z",
  "partyStatus": "INACTIVE",
  "reasonCode": "DOCUMENT_VERIFICATION",
  "verificationURL": "https://verify-v2.socure.com/#/t/99f2e00e-3ffd-4c58-8e40-3d6f7934c426",
  "verificationURLExpiry": "2024-02-20T18:58:49.197534912Z"
}`,
  bakktSuspended: `{
  "requestId": "3f2b3e62-f26c-442d-8d4b-d029d5e9de50",
  "partnerPartyRef": "e8596570-f058-493b-a667-965b6ea2eb8e",
  "partnerWebhookType": "PARTY_EVENT",
  "created": "2023-07-14T17:26:42.53873Z",
  "partyStatus": "SUSPENDED",
  "reasonCode": "MAX_ACH_RETURNS"
}`,
  bakktBankLink: `{
  "requestId": "ca5d9540-1f09-44d8-921b-aeca5caf16c9",
  "partnerPartyRef": "51275f6e-7111-402d-bf98-9a26d60072a61080p",
  "partnerWebhookType": "BANK_ACCOUNT_LINK",
  "created": "2023-08-08T19:12:53.034610562Z",
  "accountLinkingInfo": {
    "bankName": "N/A",
    "accountLastFour": "0000",
    "accountLinkStatus": "PENDING",
    "verificationType": "SAME_DAY_MICRODEPOSIT"
  }
}`,
  bakktAchPending: `{
  "requestId": "ba5d8540-6n78-44d8-921b-aeca5caf16g8",
  "partnerPartyRef": "53b16517-7766-4124-ab53-a798c310c139",
  "partnerWebhookType": "FIAT_EVENT",
  "fiatEvent": {
    "amount": 100,
    "created": "2023-05-11T18:32:24.448422Z",
    "currency": "USD",
    "transactionId": "5167d1e5-1ff9-49bd-86a2-38d8116c7d67",
    "partnerTransactionRef": "53b16517-7766-4124-ab53-a798c310c139",
    "fiatTransactType": "DEPOSIT",
    "instrumentType": "ACH",
    "transactionStatus": "PENDING"
  }
}`,
  bakktAchCompleted: `{
  "requestId": "ch9d9540-1f09-44d8-876c-aeca5caf16g8",
  "partnerPartyRef": "53b16517-7766-4124-ab53-a798c310c139",
  "partnerWebhookType": "FIAT_EVENT",
  "fiatEvent": {
    "amount": 100,
    "created": "2023-05-13T18:32:24.448422Z",
    "currency": "USD",
    "transactionId": "4177d1e5-1ff9-4495-86a2-38d8116c7d99",
    "partnerTransactionRef": "77c16517-4513-4124-ab53-a798c310c848",
    "fiatTransactType": "DEPOSIT",
    "instrumentType": "ACH",
    "transactionStatus": "COMPLETED"
  }
}`,
};

/**
 * Sumsub's own webhook examples from https://docs.sumsub.com/docs/user-verification-webhooks
 * (applicantCreated, applicantPending, applicantReviewed). The copy of that page reachable when
 * this was written stops before its examples, so they are taken as integrations reproduce them
 * verbatim (same ids, `"clientId": "coolClientId"`). `pendingAsDelivered` is an applicantPending
 * the way Sumsub delivers it: absent attributes sent as `null`, `reviewResult` included (the
 * page's attribute table marks `reviewResult` "Always present? Yes").
 */
export const SUMSUB_DOCS = {
  applicantCreated: `{
  "applicantId": "5c9e177b0a975a6eeccf5960",
  "inspectionId": "5c9e177b0a975a6eeccf5961",
  "correlationId": "req-63f92830-4d68-4eee-98d5-875d53a12258",
  "levelName": "id-and-liveness",
  "externalUserId": "12672",
  "type": "applicantCreated",
  "sandboxMode": false,
  "reviewStatus": "init",
  "createdAtMs": "2020-02-21 13:23:19.002",
  "clientId": "coolClientId"
}`,
  applicantPending: `{
  "applicantId": "5c7791f80a975a1df426b9e9",
  "inspectionId": "5c7791f80a975a1df426b9ea",
  "applicantType": "individual",
  "correlationId": "req-4af54c06-6a50-4cb9-a7dc-b94b2f5b07eb",
  "levelName": "liveness-level",
  "externalUserId": "12672",
  "type": "applicantPending",
  "sandboxMode": false,
  "reviewStatus": "pending",
  "createdAtMs": "2020-02-21 13:23:19.002",
  "clientId": "coolClientId"
}`,
  applicantReviewed: `{
  "applicantId": "5cb56e8e0a975a35f333cb83",
  "inspectionId": "5cb56e8e0a975a35f333cb84",
  "correlationId": "req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4",
  "externalUserId": "externalUserId",
  "levelName": "id-and-liveness",
  "type": "applicantReviewed",
  "reviewResult": {
    "reviewAnswer": "GREEN"
  },
  "reviewStatus": "completed",
  "createdAtMs": "2020-02-21 13:23:19.321"
}`,
  pendingAsDelivered: `{
  "type": "applicantPending",
  "clientId": "coolClientId",
  "levelName": "basic-kyc-level",
  "applicantId": "65bd228a2a99e9196014ccc5",
  "createdAtMs": "2024-02-02 17:23:16.368",
  "sandboxMode": false,
  "inspectionId": "65bd228a2a99e9196014ccc6",
  "reviewResult": null,
  "reviewStatus": "pending",
  "applicantType": "individual",
  "correlationId": "0727edcd2fd452f64b7dd9f76516d815",
  "externalUserId": "12672",
  "applicantActionId": null,
  "applicantMemberOf": null,
  "previousLevelName": null,
  "reviewRejectType": null
}`,
};

/**
 * Onfido's webhook event as its API reference documents it (https://documentation.onfido.com/#webhooks;
 * `webhook_event` in github.com/onfido/onfido-openapi-spec, whose examples give the times): a
 * check.completed naming the check by id and href. `onfidoEvent` makes one for a given object.
 */
export const onfidoEvent = (action: string, id: string, resource = action.split(".")[0]!) => `{
  "payload": {
    "resource_type": "${resource}",
    "action": "${action}",
    "object": {
      "id": "${id}",
      "status": "complete",
      "completed_at_iso8601": "2019-10-28T15:00:39Z",
      "href": "https://api.onfido.com/v3.6/${resource}s/${id}"
    }
  }
}`;

/** Trulioo's examples as printed: the handshake (https://developer.trulioo.com/reference/api-handshake) and an event (https://developer.trulioo.com/reference/event-dispatcher). */
export const TRULIOO_DOCS = {
  handshake: `{  
  "challenge":"E5KUIHFDEKJS485RFU38H0B7CFNFMUCJMRDGN9UEYP0YJLGFGFC0DFGUB",  
  "type":"URL_VERIFICATION",  
  "token":"gmCKj87gjhKJKJh0JBP696F"  
}`,
  personMatch: `{
    "id": "sample-id",
    "token": "sample-token",
    "type": "EVENT_CALLBACK",
    "event": {
        "type": "SERVICE_SUBMIT",
        "ts": 1718011363,
        "user": "sample-user-id"
    },
    "flowId": "sample-flow-id",
    "userId": "sample-user-id",
    "serviceType": "TRULIOO_EIDV",
    "test": true,
    "retry": 0,
    "serviceData": {
        "timestamp": 1718011363,
        "serviceStatus": "COMPLETED",
        "match": true,
        "transactionInfo": {
            "accountName": "sample-account-name",
            "accountIdentifier": "sample-account-identifier",
            "countryCode": "US",
            "date": "2022-11-22T12:00:00Z",
            "transactionId": "sample-transaction-id",
            "transactionRecordId": "sample-transaction-record-id",
            "userName": "sample-username"
        },
        "secondaryMatch": null
    }
}`,
};

/**
 * A Jumio workflow status callback with the fields and shape its "Callback" page documents
 * (https://documentation.jumio.ai): callbackSentAt, userReference, workflowExecution {id, href,
 * definitionKey, status}, account {id, href}.
 */
export const jumioCallback = (fields: { accountId: string; executionId: string; status: string; userReference?: string; sentAt?: string }) => `{
  "callbackSentAt": "${fields.sentAt ?? "2021-01-20T14:01:29.829Z"}",
  ${
    fields.userReference === undefined
      ? ""
      : `"userReference": "${fields.userReference}",
  `
  }"workflowExecution": {
    "id": "${fields.executionId}",
    "href": "https://retrieval.amer-1.jumio.ai/api/v1/accounts/${fields.accountId}/workflow-executions/${fields.executionId}",
    "definitionKey": "10011",
    "status": "${fields.status}"
  },
  "account": {
    "id": "${fields.accountId}",
    "href": "https://account.amer-1.jumio.ai/api/v1/accounts/${fields.accountId}"
  }
}`;
