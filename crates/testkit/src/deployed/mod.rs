//! The system in the shape it is deployed, on one machine: each Lambda function's binary as its
//! own process behind a Lambda Runtime API ([`lambda`]), and the real state machine run by an
//! engine behind a Step Functions endpoint whose Task states invoke those processes through the
//! Lambda Invoke API ([`stepfunctions`]). The rest of AWS is moto; the clusters are MariaDB;
//! Slack is the fake Slack.

pub mod lambda;
pub mod stepfunctions;
