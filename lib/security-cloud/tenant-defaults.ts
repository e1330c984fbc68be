import { Construct } from 'constructs';
import { Aws, Stack, aws_ec2 as ec2, aws_iam as iam, custom_resources as cr } from 'aws-cdk-lib';
import { TENANT_DEFAULTS_TYPE } from '../isolation/analyzer';
import { acknowledge, controlTower } from '../compliance/acknowledge';

export interface TenantDefaultsProps {
  readonly tgw: ec2.CfnTransitGateway;
  /** Where every attachment that is not explicitly associated is associated: the tenants table. */
  readonly association: ec2.CfnTransitGatewayRouteTable;
  /** Where such an attachment's VPC CIDR propagates: the firewall table (inspected return traffic). */
  readonly propagation: ec2.CfnTransitGatewayRouteTable;
  /** The hub's own associations and propagations: set before the defaults, so the hub's attachments are not taken by them. */
  readonly after: Construct[];
}

/**
 * Multi-account rollout (rollout.stackSets): the hub needs no resource and
 * no id per tenant. Once the hub's own attachments are wired, the Transit
 * Gateway's default route tables become the tenants table (association)
 * and the firewall table (propagation), so every attachment a tenant's
 * stack instance creates (accepted automatically: the Transit Gateway is
 * shared with the prefecture OUs only) lands exactly where the pilot's
 * explicit association puts it.
 *
 * CloudFormation cannot set these options when it creates the Transit
 * Gateway (the route tables need its id first), so an AwsCustomResource
 * (aws-cdk-lib) calls ec2:ModifyTransitGateway afterwards; on delete it
 * disables them again. The analyzer reads this resource's call and models
 * the defaults (lib/isolation/analyzer.ts); a call it cannot read fails the
 * check.
 */
export class TenantDefaults extends Construct {
  readonly resource: cr.AwsCustomResource;

  constructor(scope: Construct, id: string, props: TenantDefaultsProps) {
    super(scope, id);
    const tgwArn = `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:transit-gateway/${props.tgw.ref}`;
    const call = (enable: boolean): cr.AwsSdkCall => ({
      service: 'EC2',
      action: 'modifyTransitGateway',
      parameters: {
        TransitGatewayId: props.tgw.ref,
        Options: enable
          ? { DefaultRouteTableAssociation: 'enable', AssociationDefaultRouteTableId: props.association.ref, DefaultRouteTablePropagation: 'enable', PropagationDefaultRouteTableId: props.propagation.ref }
          : { DefaultRouteTableAssociation: 'disable', DefaultRouteTablePropagation: 'disable' },
      },
      physicalResourceId: cr.PhysicalResourceId.of(`${props.tgw.ref}-tenant-defaults`),
    });
    this.resource = new cr.AwsCustomResource(this, 'Resource', {
      resourceType: TENANT_DEFAULTS_TYPE,
      onCreate: call(true),
      onUpdate: call(true),
      onDelete: call(false),
      installLatestAwsSdk: false,
      // ModifyTransitGateway on this Transit Gateway only (the route tables are named in the call, not acted on).
      policy: cr.AwsCustomResourcePolicy.fromStatements([new iam.PolicyStatement({ actions: ['ec2:ModifyTransitGateway'], resources: [tgwArn] })]),
    });
    const provider = Stack.of(this).node.tryFindChild(`AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`);
    if (provider) {
      acknowledge(provider.node.defaultChild!, controlTower('lambda_inside_vpc_check'), 'A deploy-time call (ec2:ModifyTransitGateway of the hub) by the CDK AwsCustomResource; it holds no data and needs only the EC2 API.');
      acknowledge(provider.node.findChild('ServiceRole').node.defaultChild!, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-provided deploy-time handler: it only needs to write its own logs.');
    }
    for (const c of props.after) this.resource.node.addDependency(c);
  }
}
